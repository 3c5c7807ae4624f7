using System.CommandLine;
using Lifeboat.Etcd.Restore;

namespace Lifeboat.Cli.Commands;

/// <summary>etcd's member bootstrap flags, named as etcd names them, shared by the commands that lay out or check a data directory.</summary>
internal sealed class MemberOptions
{
    private static readonly MemberFlags Defaults = new();

    public Option<string> Name { get; } = new("--name") { Description = "Member name, as for etcd", DefaultValueFactory = _ => Defaults.Name };

    public Option<string> InitialCluster { get; } = new("--initial-cluster") { Description = "Initial cluster, as for etcd", DefaultValueFactory = _ => Defaults.InitialCluster };

    public Option<string> Token { get; } = new("--initial-cluster-token") { Description = "Initial cluster token, as for etcd", DefaultValueFactory = _ => Defaults.InitialClusterToken };

    public Option<string> PeerUrls { get; } = new("--initial-advertise-peer-urls")
    {
        Description = "This member's peer URLs, as for etcd",
        DefaultValueFactory = _ => Defaults.InitialAdvertisePeerUrls,
    };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Name, InitialCluster, Token, PeerUrls })
        {
            command.Options.Add(o);
        }
    }

    public MemberFlags Read(ParseResult parse) => new()
    {
        Name = parse.GetValue(Name)!,
        InitialCluster = parse.GetValue(InitialCluster)!,
        InitialClusterToken = parse.GetValue(Token)!,
        InitialAdvertisePeerUrls = parse.GetValue(PeerUrls)!,
    };
}
