using System.CommandLine;
using Lifeboat.Cli.Output;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Config;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Cli.Commands;

/// <summary>Where the cluster is: kubeconfig, context, namespace(s); shared by the volume and resource commands.</summary>
internal sealed class KubeOptions(bool multipleNamespaces = false)
{
    public static Option<OutputFormat> OutputOption() =>
            new("--output", "-o") { Description = "Output format", HelpName = "text|json", DefaultValueFactory = _ => OutputFormat.Text };

    private readonly Option<string?> _kubeconfig = new("--kubeconfig") { Description = "Path to a kubeconfig (default: KUBECONFIG, ~/.kube/config, or in-cluster)" };
    private readonly Option<string?> _context = new("--context") { Description = "kubeconfig context to use" };
    private readonly Option<string[]> _namespace = new("--namespace", "-n")
    {
        Description = multipleNamespaces ? "Namespace(s), repeat or comma-separate (default: the context's)" : "Namespace (default: the context's)",
        AllowMultipleArgumentsPerToken = false,
        Arity = multipleNamespaces ? ArgumentArity.ZeroOrMore : ArgumentArity.ZeroOrOne,
    };

    private readonly Option<TimeSpan> _poll = new("--poll-interval")
    {
        Description = "How often to re-read objects that cannot be watched",
        Hidden = true,
        DefaultValueFactory = _ => TimeSpan.FromSeconds(2),
        CustomParser = Durations.Parse,
    };

    public void AddTo(Command command, bool withNamespace = true)
    {
        command.Options.Add(_kubeconfig);
        command.Options.Add(_context);
        if (withNamespace)
        {
            command.Options.Add(_namespace);
        }

        command.Options.Add(_poll);
    }

    public KubeClient Connect(ParseResult parse) => new(KubeConnection.Load(new KubeConnectionOptions
    {
        KubeconfigPath = parse.GetValue(_kubeconfig),
        Context = parse.GetValue(_context),
    }));

    public TimeSpan PollInterval(ParseResult parse) => parse.GetValue(_poll);

    public string Namespace(ParseResult parse, KubeClient client) => Namespaces(parse, client) is [var one] ? one
        : throw new ArgumentException("give one namespace with -n");

    public List<string> Namespaces(ParseResult parse, KubeClient client)
    {
        var given = Split(parse.GetValue(_namespace));
        return given.Count > 0 ? given : [client.DefaultNamespace];
    }
    /// <summary>Whether -n was given at all (some commands default to every namespace instead of the context's).</summary>
    public bool NamespaceGiven(ParseResult parse) => parse.GetValue(_namespace) is { Length: > 0 };

    public static List<string> Split(IEnumerable<string>? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal).ToList();
}

/// <summary>Steps on standard output (standard error when the output is JSON), warnings on standard error.</summary>
internal sealed class StepLog(CliContext context, OutputFormat format) : IStepLog
{
    private readonly Lock _lock = new();

    public void Info(string message)
    {
        lock (_lock)
        {
            (format == OutputFormat.Json ? context.Error : context.Output).WriteLine(message);
        }
    }

    public void Warn(string message)
    {
        lock (_lock)
        {
            context.Error.WriteLine("warning: " + message);
        }
    }
}
