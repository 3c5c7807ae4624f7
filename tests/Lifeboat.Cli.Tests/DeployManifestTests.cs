using Lifeboat.Testing;
using YamlDotNet.RepresentationModel;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// The example manifests cannot be applied here (no Kubernetes), but they must not drift from the CLI: the sidecar's
/// arguments are run through Lifeboat's own parser.
/// </summary>
public sealed class DeployManifestTests
{
    [Fact]
    public void StatefulSet_SidecarArguments_ParseWithoutErrors_AndProbesUseTheApi()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Repository.Root, "deploy", "etcd", "statefulset.yaml")))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        Assert.Equal("StatefulSet", ((YamlScalarNode)root["kind"]).Value);
        var containers = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)root["spec"])["template"])["spec"])["containers"];
        var sidecar = containers.Cast<YamlMappingNode>().Single(c => ((YamlScalarNode)c["name"]).Value == "lifeboat");
        var args = ((YamlSequenceNode)sidecar["args"]).Cast<YamlScalarNode>().Select(a => a.Value!).ToArray();

        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        var parse = LifeboatCli.CreateRoot(context).Root.Parse(args, LifeboatCli.Parsing);

        Assert.True(parse.Errors.Count == 0, string.Join("; ", parse.Errors.Select(e => e.Message)));
        Assert.Equal("serve", parse.CommandResult.Command.Name);
        Assert.Equal("/readyz", ((YamlScalarNode)((YamlMappingNode)((YamlMappingNode)sidecar["readinessProbe"])["httpGet"])["path"]).Value);
        Assert.Equal("/healthz", ((YamlScalarNode)((YamlMappingNode)((YamlMappingNode)sidecar["livenessProbe"])["httpGet"])["path"]).Value);

        var init = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)root["spec"])["template"])["spec"])["initContainers"])[0];
        var initParse = LifeboatCli.CreateRoot(context).Root.Parse(((YamlSequenceNode)init["args"]).Cast<YamlScalarNode>().Select(a => a.Value!).ToArray());
        Assert.True(initParse.Errors.Count == 0, string.Join("; ", initParse.Errors.Select(e => e.Message)));
        Assert.Equal("init", initParse.CommandResult.Command.Name);
    }

    private static List<YamlMappingNode> Documents(params string[] path)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine([Repository.Root, .. path])))
        {
            yaml.Load(reader);
        }

        return yaml.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static string Scalar(YamlNode node, params string[] keys)
    {
        foreach (var key in keys)
        {
            node = ((YamlMappingNode)node)[key];
        }

        return ((YamlScalarNode)node).Value!;
    }

    [Fact]
    public void VolumeSnapshotter_CronJob_RunsTheScheduleCommand_NonRoot_WithoutOverlapOrDuplicates()
    {
        var cronJob = Documents("deploy", "volume-snapshotter", "cronjob.yaml").Single();
        Assert.Equal("batch/v1", Scalar(cronJob, "apiVersion"));
        Assert.Equal("Forbid", Scalar(cronJob, "spec", "concurrencyPolicy"));
        var job = (YamlMappingNode)((YamlMappingNode)cronJob["spec"])["jobTemplate"];
        Assert.InRange(int.Parse(Scalar(job, "spec", "backoffLimit"), System.Globalization.CultureInfo.InvariantCulture), 0, 3);
        var pod = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)job["spec"])["template"])["spec"];
        Assert.Equal("Never", Scalar(pod, "restartPolicy"));
        Assert.Equal("true", Scalar(pod, "securityContext", "runAsNonRoot"));
        Assert.Equal("volume-snapshotter", Scalar(pod, "serviceAccountName"));

        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"])[0];
        var args = ((YamlSequenceNode)container["args"]).Cast<YamlScalarNode>().Select(a => a.Value!).ToArray();
        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        var parse = LifeboatCli.CreateRoot(context).Root.Parse(args, LifeboatCli.Parsing);
        Assert.True(parse.Errors.Count == 0, string.Join("; ", parse.Errors.Select(e => e.Message)));
        Assert.Equal("run", parse.CommandResult.Command.Name);
        // The slot is computed from --cron: it must be the CronJob's own schedule.
        Assert.Equal(Scalar(cronJob, "spec", "schedule"), args[Array.IndexOf(args, "--cron") + 1]);
    }

    [Fact]
    public void ResourceBackup_CronJob_RunsTheScheduleCommand_NonRoot_OnlyReads()
    {
        var cronJob = Documents("deploy", "resource-backup", "cronjob.yaml").Single();
        Assert.Equal("Forbid", Scalar(cronJob, "spec", "concurrencyPolicy"));
        var job = (YamlMappingNode)((YamlMappingNode)cronJob["spec"])["jobTemplate"];
        var pod = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)job["spec"])["template"])["spec"];
        Assert.Equal("true", Scalar(pod, "securityContext", "runAsNonRoot"));
        Assert.Equal("resource-backup", Scalar(pod, "serviceAccountName"));
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"])[0];
        var args = ((YamlSequenceNode)container["args"]).Cast<YamlScalarNode>().Select(a => a.Value!).ToArray();
        using var context = new CliContext(TextWriter.Null, TextWriter.Null, interactive: false, TimeProvider.System);
        var parse = LifeboatCli.CreateRoot(context).Root.Parse(args, LifeboatCli.Parsing);
        Assert.True(parse.Errors.Count == 0, string.Join("; ", parse.Errors.Select(e => e.Message)));
        Assert.Equal(["resources", "schedule", "run"], args[..3]);
        Assert.Equal(Scalar(cronJob, "spec", "schedule"), args[Array.IndexOf(args, "--cron") + 1]);
        Assert.Contains("--encryption-key-file", args); // backups hold Secrets

        var rbac = Documents("deploy", "resource-backup", "rbac.yaml");
        Assert.Equal(["ServiceAccount", "ClusterRole", "ClusterRoleBinding"], rbac.Select(d => Scalar(d, "kind")));
        var verbs = rbac.Where(d => Scalar(d, "kind") == "ClusterRole").SelectMany(d => ((YamlSequenceNode)d["rules"]).Cast<YamlMappingNode>())
            .SelectMany(r => ((YamlSequenceNode)r["verbs"]).Cast<YamlScalarNode>().Select(n => n.Value!)).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(["get", "list"], verbs); // it reads; it never writes to the cluster
    }

    [Fact]
    public void VolumeSnapshotter_Rbac_NamesExactlyTheVerbsUsed_NoWildcards()
    {
        var docs = Documents("deploy", "volume-snapshotter", "rbac.yaml");
        Assert.Equal(["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"], docs.Select(d => Scalar(d, "kind")));
        var rules = docs.Where(d => Scalar(d, "kind") is "Role" or "ClusterRole")
            .SelectMany(d => ((YamlSequenceNode)d["rules"]).Cast<YamlMappingNode>())
            .ToDictionary(
                r => string.Join(",", ((YamlSequenceNode)r["resources"]).Cast<YamlScalarNode>().Select(n => n.Value)),
                r => ((YamlSequenceNode)r["verbs"]).Cast<YamlScalarNode>().Select(n => n.Value!).Order(StringComparer.Ordinal).ToArray());

        Assert.Equal(["create", "delete", "get", "list", "watch"], rules["volumesnapshots"]);
        Assert.Equal(["get", "list"], rules["persistentvolumeclaims"]);
        Assert.Equal(["get"], rules["persistentvolumes"]);
        Assert.Equal(["get"], rules["storageclasses"]);
        Assert.Equal(["get", "list"], rules["volumesnapshotclasses"]);
        Assert.DoesNotContain(rules.Values.SelectMany(v => v), v => v == "*");
    }

    [Fact]
    public void Dockerfile_RunsAsANonRootUser()
    {
        var lines = File.ReadAllLines(Path.Combine(Repository.Root, "Dockerfile"));
        var user = lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal));

        Assert.NotEqual("0", user[5..].Split(':')[0]);
        Assert.DoesNotContain("root", user, StringComparison.Ordinal);
        Assert.StartsWith("ENTRYPOINT", lines.Last(l => l.Length > 0 && !l.StartsWith('#')), StringComparison.Ordinal);
    }

    [Fact]
    public void Etcd_EveryContainerRunsAsTheUserThatOwnsTheDataVolume_APdbKeepsQuorum_AndKustomizeSetsTheNamespace()
    {
        var statefulSet = Documents("deploy", "etcd", "statefulset.yaml").Single();
        var pod = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)statefulSet["spec"])["template"])["spec"];
        var user = Scalar(pod, "securityContext", "runAsUser");
        Assert.NotEqual("0", user);
        Assert.Equal(user, Scalar(pod, "securityContext", "fsGroup")); // the init container's restore is etcd's data
        Assert.Equal("true", Scalar(pod, "securityContext", "runAsNonRoot"));
        var containers = ((YamlSequenceNode)pod["initContainers"]).Concat((YamlSequenceNode)pod["containers"]).Cast<YamlMappingNode>().ToList();
        Assert.Equal(3, containers.Count);
        foreach (var container in containers)
        {
            var name = Scalar(container, "name");
            var own = container.Children.TryGetValue("securityContext", out var sc) ? (YamlMappingNode)sc : null;
            Assert.True(own is not null, $"{name} has no securityContext");
            Assert.False(own.Children.ContainsKey("runAsUser"), $"{name} overrides the pod's user, so it would not own the data volume");
            Assert.Equal("false", Scalar(own, "allowPrivilegeEscalation"));
        }

        var mounts = containers.ToDictionary(c => Scalar(c, "name"), c => ((YamlSequenceNode)c["volumeMounts"]).Cast<YamlMappingNode>()
            .ToDictionary(m => Scalar(m, "name"), m => Scalar(m, "mountPath")));
        Assert.Equal(mounts["etcd"]["data"], mounts["lifeboat-init"]["data"]);

        var pdb = Documents("deploy", "etcd", "pdb.yaml").Single();
        Assert.Equal("PodDisruptionBudget", Scalar(pdb, "kind"));
        Assert.Equal("1", Scalar(pdb, "spec", "maxUnavailable"));
        Assert.Equal(Scalar(statefulSet, "spec", "selector", "matchLabels", "app.kubernetes.io/name"), Scalar(pdb, "spec", "selector", "matchLabels", "app.kubernetes.io/name"));

    }

    [Theory]
    [InlineData("etcd")]
    [InlineData("resource-backup")]
    [InlineData("volume-snapshotter")]
    public void EveryExample_IsAKustomization_ThatAloneSetsTheNamespace(string example)
    {
        var kustomization = Documents("deploy", example, "kustomization.yaml").Single();
        Assert.False(string.IsNullOrEmpty(Scalar(kustomization, "namespace")));
        var resources = ((YamlSequenceNode)kustomization["resources"]).Cast<YamlScalarNode>().Select(r => r.Value!).Order(StringComparer.Ordinal);
        var files = Directory.EnumerateFiles(Repository.Path("deploy", example), "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(files, resources);
        foreach (var file in files)
        {
            foreach (var document in Documents("deploy", example, file!))
            {
                Assert.False(((YamlMappingNode)document["metadata"]).Children.ContainsKey("namespace"), $"{file} names a namespace");
                if (Scalar(document, "kind") == "ClusterRoleBinding")
                {
                    // A cluster binding must name its ServiceAccount's namespace, and kustomize's namespace transformer
                    // rewrites only subjects whose namespace is "default". (A RoleBinding's subject without one is in the
                    // binding's own namespace.)
                    foreach (var subject in ((YamlSequenceNode)document["subjects"]).Cast<YamlMappingNode>().Where(s => Scalar(s, "kind") == "ServiceAccount"))
                    {
                        Assert.Equal("default", Scalar(subject, "namespace"));
                    }
                }
            }
        }
    }
}
