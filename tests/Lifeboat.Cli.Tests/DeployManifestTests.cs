using YamlDotNet.RepresentationModel;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// The example manifests cannot be applied here (no Kubernetes), but they must not drift from the CLI: the sidecar's
/// arguments are run through Lifeboat's own parser.
/// </summary>
public sealed class DeployManifestTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lifeboat.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Lifeboat.slnx) was not found above the test binaries");
    }

    [Fact]
    public void StatefulSet_SidecarArguments_ParseWithoutErrors_AndProbesUseTheApi()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepositoryRoot(), "deploy", "etcd", "statefulset.yaml")))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        Assert.Equal("StatefulSet", ((YamlScalarNode)root["kind"]).Value);
        var containers = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)root["spec"])["template"])["spec"])["containers"];
        var sidecar = containers.Cast<YamlMappingNode>().Single(c => ((YamlScalarNode)c["name"]).Value == "lifeboat");
        var args = ((YamlSequenceNode)sidecar["args"]).Cast<YamlScalarNode>().Select(a => a.Value!).ToArray();

        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        var parse = LifeboatCli.CreateRoot(context).Root.Parse(args);

        Assert.True(parse.Errors.Count == 0, string.Join("; ", parse.Errors.Select(e => e.Message)));
        Assert.Equal("serve", parse.CommandResult.Command.Name);
        Assert.Equal("/readyz", ((YamlScalarNode)((YamlMappingNode)((YamlMappingNode)sidecar["readinessProbe"])["httpGet"])["path"]).Value);
        Assert.Equal("/healthz", ((YamlScalarNode)((YamlMappingNode)((YamlMappingNode)sidecar["livenessProbe"])["httpGet"])["path"]).Value);

        var init = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)root["spec"])["template"])["spec"])["initContainers"])[0];
        var initParse = LifeboatCli.CreateRoot(context).Root.Parse(((YamlSequenceNode)init["args"]).Cast<YamlScalarNode>().Select(a => a.Value!).ToArray());
        Assert.True(initParse.Errors.Count == 0, string.Join("; ", initParse.Errors.Select(e => e.Message)));
        Assert.Equal("init", initParse.CommandResult.Command.Name);
    }
}
