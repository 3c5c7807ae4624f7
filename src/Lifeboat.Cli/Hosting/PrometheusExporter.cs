using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Lifeboat.Cli.Hosting;

/// <summary>
/// Renders the instruments of Lifeboat's meters in the Prometheus text exposition format (version 0.0.4), written
/// here because prometheus-net is not available. Names follow Prometheus conventions: dots become underscores, the
/// unit is appended (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>), counters end in <c>_total</c>.
/// </summary>
/// <remarks>Thread-safe: measurements arrive on any thread; <see cref="Render"/> takes a consistent-enough snapshot.</remarks>
public sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>Sizes from 1 KiB to 64 GiB, by powers of four: a delta of a few KiB and a full snapshot of GiBs each land in a bucket.</summary>
    private static readonly double[] ByteBuckets = Enumerable.Range(0, 14).Select(i => Math.Pow(4, i) * 1024).ToArray();

    /// <summary>The buckets that fit the instrument's unit: a size histogram on the seconds buckets put every full snapshot in +Inf.</summary>
    private static double[] BucketsOf(Instrument instrument) => instrument.Unit == "By" ? ByteBuckets : SecondsBuckets;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, ConcurrentDictionary<string, Series>> _series = new();

    public PrometheusExporter(string meterPrefix = "Lifeboat")
        : this(meter => meter.Name.StartsWith(meterPrefix, StringComparison.Ordinal))
    {
    }

    /// <param name="exports">The meters to export: the sidecar passes its own meter object, so that another sidecar in the
    /// same process (tests run several) never adds a second series of the same name.</param>
    public PrometheusExporter(Func<Meter, bool> exports)
    {
        ArgumentNullException.ThrowIfNull(exports);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (exports(instrument.Meter))
            {
                _series.TryAdd(instrument, new ConcurrentDictionary<string, Series>(StringComparer.Ordinal));
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>The exposition text; content type <c>text/plain; version=0.0.4</c>.</summary>
    public string Render()
    {
        _listener.RecordObservableInstruments();
        var sb = new StringBuilder();
        foreach (var (instrument, series) in _series.OrderBy(p => p.Key.Name, StringComparer.Ordinal))
        {
            var kind = instrument switch
            {
                Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long> or ObservableCounter<double> => "counter",
                Histogram<double> or Histogram<long> => "histogram",
                _ => "gauge",
            };
            var name = MetricName(instrument, kind);
            sb.Append("# HELP ").Append(name).Append(' ').Append(Escape(instrument.Description ?? instrument.Name)).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(' ').Append(kind).Append('\n');
            foreach (var (labels, s) in series.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lock (s)
                {
                    if (kind == "histogram")
                    {
                        long cumulative = 0;
                        var buckets = BucketsOf(instrument);
                        for (var b = 0; b < buckets.Length; b++)
                        {
                            cumulative += s.BucketCounts[b];
                            sb.Append(name).Append("_bucket{").Append(Join(labels, $"le=\"{Format(buckets[b])}\"")).Append("} ").Append(cumulative).Append('\n');
                        }

                        sb.Append(name).Append("_bucket{").Append(Join(labels, "le=\"+Inf\"")).Append("} ").Append(s.Count).Append('\n');
                        sb.Append(name).Append("_sum").Append(Braced(labels)).Append(' ').Append(Format(s.Sum)).Append('\n');
                        sb.Append(name).Append("_count").Append(Braced(labels)).Append(' ').Append(s.Count).Append('\n');
                    }
                    else
                    {
                        sb.Append(name).Append(Braced(labels)).Append(' ').Append(Format(s.Value)).Append('\n');
                    }
                }
            }
        }

        return sb.ToString();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (!_series.TryGetValue(instrument, out var series))
        {
            return;
        }

        var labels = Labels(tags);
        var s = series.GetOrAdd(labels, _ => new Series(BucketsOf(instrument).Length));
        lock (s)
        {
            switch (instrument)
            {
                case Histogram<double> or Histogram<long>:
                    s.Count++;
                    s.Sum += value;
                    var bucket = Array.FindIndex(BucketsOf(instrument), b => value <= b);
                    if (bucket >= 0)
                    {
                        s.BucketCounts[bucket]++;
                    }

                    break;
                case Counter<long> or Counter<int> or Counter<double> or UpDownCounter<long> or UpDownCounter<int> or UpDownCounter<double>:
                    s.Value += value;
                    break;
                default:
                    s.Value = value; // observable gauges and counters report their current value
                    break;
            }
        }
    }

    private static string MetricName(Instrument instrument, string kind)
    {
        var name = new StringBuilder();
        foreach (var c in instrument.Name)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_');
        }

        var unit = instrument.Unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => "",
        };
        if (unit.Length > 0 && !name.ToString().EndsWith(unit, StringComparison.Ordinal))
        {
            name.Append(unit);
        }

        if (kind == "counter" && !name.ToString().EndsWith("_total", StringComparison.Ordinal))
        {
            name.Append("_total");
        }

        return name.ToString();
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return "";
        }

        var pairs = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            pairs.Add($"{key.Replace('.', '_')}=\"{Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")}\"");
        }

        pairs.Sort(StringComparer.Ordinal);
        return string.Join(',', pairs);
    }

    private static string Join(string labels, string extra) => labels.Length == 0 ? extra : labels + "," + extra;

    private static string Braced(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";

    private static string Escape(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Format(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    public void Dispose() => _listener.Dispose();

    private sealed class Series(int buckets = 0)
    {
        public double Value { get; set; }
        public long Count { get; set; }
        public double Sum { get; set; }
        public long[] BucketCounts { get; } = new long[buckets];
    }
}
