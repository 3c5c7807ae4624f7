using System.CommandLine;
using Lifeboat.Cli.Output;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Config;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Cli.Commands;

/// <summary>Where the cluster is: kubeconfig, context, namespace(s); shared by the volume and resource commands.</summary>
internal sealed class KubeOptions(bool multipleNamespaces = false)
{
    private readonly Option<string?> _kubeconfig = new("--kubeconfig") { Description = "Path to a kubeconfig (default: KUBECONFIG, ~/.kube/config, or in-cluster)" };
    private readonly Option<string?> _context = new("--context") { Description = "kubeconfig context to use" };
    // Two shapes of one flag: System.CommandLine cannot bind a string[] option of arity 0..1, so a command that takes one
    // namespace gets a plain string option (with a string[] one, "-n shop" failed to parse on every single-namespace command).
    private readonly Option<string[]> _namespaces = new("--namespace", "-n")
    {
        Description = "Namespace(s), repeat or comma-separate (default: the context's)",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<string?> _namespace = new("--namespace", "-n") { Description = "Namespace (default: the context's)" };

    private readonly Option<TimeSpan> _poll = new Option<TimeSpan>("--poll-interval")
    {
        Description = "How often to re-read objects that cannot be watched",
        Hidden = true,
        DefaultValueFactory = _ => TimeSpan.FromSeconds(2),
    }.Duration(TimeSpan.FromMilliseconds(10));

    public void AddTo(Command command, bool withNamespace = true)
    {
        command.Options.Add(_kubeconfig);
        command.Options.Add(_context);
        if (withNamespace)
        {
            command.Options.Add(multipleNamespaces ? _namespaces : _namespace);
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
        var given = Given(parse);
        return given.Count > 0 ? given : [client.DefaultNamespace];
    }

    /// <summary>Whether -n was given at all (some commands default to every namespace instead of the context's).</summary>
    public bool NamespaceGiven(ParseResult parse) => Given(parse).Count > 0;

    private List<string> Given(ParseResult parse) => multipleNamespaces
        ? Split(parse.GetValue(_namespaces))
        : Split(parse.GetValue(_namespace) is { } one ? [one] : []);

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
            (format.IsStructured() ? context.Error : context.Output).WriteLine(message);
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
