namespace Lifeboat.Cli.Output;

/// <summary>Columns aligned with spaces, like kubectl's tables: readable by people and by <c>awk</c>.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [headers];

    public void Add(params string[] cells) => _rows.Add(cells);

    public async Task WriteToAsync(TextWriter writer)
    {
        var widths = headers.Select((_, i) => _rows.Max(r => r[i].Length)).ToArray();
        foreach (var row in _rows)
        {
            await writer.WriteLineAsync(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }
}
