using System.Text.RegularExpressions;
using Lifeboat.Testing;

namespace Lifeboat.Cli.Tests;

/// <summary>
/// No Docker daemon runs here, so the image's build stage is run by hand: the Dockerfile's COPY lines copy exactly
/// the files they name (less what .dockerignore leaves out of the context) into an empty directory outside the
/// repository, and its RUN line runs there. A file the build needs that the COPY lines miss (the analyzers'
/// .editorconfig was one) fails this test as it would fail <c>docker build</c>.
/// </summary>
public sealed partial class DockerfileBuildTests
{
    [GeneratedRegex(@"^(?<directive>[A-Z]+)\s+(?<rest>.*)$")]
    private static partial Regex Directive();

    [Fact]
    public async Task BuildStage_OnExactlyTheCopiedFiles_PublishesARunnableCli()
    {
        var stage = BuildStage(File.ReadAllLines(Repository.Path("Dockerfile")));
        var ignore = DockerIgnore.Load(Repository.Path(".dockerignore"));
        using var root = new TempDirectory("lifeboat-docker");
        var workdir = "/";
        var runs = new List<(string WorkDir, string Command)>();
        foreach (var (directive, rest) in stage)
        {
            switch (directive)
            {
                case "WORKDIR":
                    workdir = rest.StartsWith('/') ? rest : $"{workdir.TrimEnd('/')}/{rest}";
                    Directory.CreateDirectory(Inside(root.Path, workdir));
                    break;
                case "COPY":
                    var parts = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    Assert.DoesNotContain(parts, p => p.StartsWith("--", StringComparison.Ordinal)); // the build stage copies from the context only
                    var destination = parts[^1].StartsWith('/') ? parts[^1] : $"{workdir.TrimEnd('/')}/{parts[^1]}";
                    foreach (var source in parts[..^1])
                    {
                        Copy(source, Inside(root.Path, destination), ignore);
                    }

                    break;
                case "RUN":
                    runs.Add((workdir, rest));
                    break;
                case "FROM" or "ENV" or "ARG":
                    break;
                default:
                    Assert.Fail($"the build stage uses {directive}, which this test does not reproduce: teach it, or keep the stage to FROM/WORKDIR/COPY/RUN");
                    break;
            }
        }

        Assert.NotEmpty(runs);
        Assert.True(File.Exists(Inside(root.Path, "/src/.editorconfig")), "the analyzers' settings (.editorconfig) are not copied");
        Assert.False(Directory.EnumerateDirectories(Inside(root.Path, "/src"), "obj", SearchOption.AllDirectories).Any(),
            "build output from the context was copied: .dockerignore must leave out bin/ and obj/");

        foreach (var (dir, command) in runs)
        {
            // Absolute paths in the RUN line point into the image's file system: here, into the test's directory.
            var local = Regex.Replace(command, @"(?<=\s)/(?=[a-z])", root.Path + "/");
            var result = await Shell.RunAsync(local, Inside(root.Path, dir),
                new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" }, TimeSpan.FromMinutes(8));
            Assert.True(result.ExitCode == 0, $"{command}\n{result}");
        }

        var cli = Inside(root.Path, "/out/lifeboat.dll");
        Assert.True(File.Exists(cli), "the build stage produced no /out/lifeboat.dll for the image's ENTRYPOINT");
        var version = await Shell.RunAsync($"dotnet '{cli}' version", root.Path);
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.StartsWith("lifeboat ", version.Stdout, StringComparison.Ordinal);
        await RestoreAndInit_WithThePublishedCli_AndNoEtcdOnPath(root, cli);
    }

    /// <summary>
    /// The image carries no etcd and no etcdctl: the CLI as the build stage published it restores and initializes a
    /// data directory with only <c>dotnet</c> on PATH, and etcd starts on what it wrote.
    /// </summary>
    private static async Task RestoreAndInit_WithThePublishedCli_AndNoEtcdOnPath(TempDirectory root, string cli)
    {
        await using var source = await EtcdServer.StartAsync();
        using var sourceClient = source.CreateClient();
        await sourceClient.PutAsync("/image/a", "1", default);
        var store = Path.Combine(root.Path, "store");
        var (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "full", "--endpoints", source.ClientUrl.ToString(), "--store", store);
        Assert.True(code == 0, stderr);
        var revision = (await sourceClient.PutAsync("/image/b", "2", default)).Header.Revision;
        (code, _, stderr) = await CliRunner.RunAsync("etcd", "snapshot", "delta", "--endpoints", source.ClientUrl.ToString(), "--store", store);
        Assert.True(code == 0, stderr);

        var bin = LifeboatShim.DotnetOnlyPath(root.Path);
        var peer = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        var member = $"--name m --initial-cluster m={peer} --initial-advertise-peer-urls {peer}";
        foreach (var command in new[] { "restore", "init" })
        {
            var dataDir = Path.Combine(root.Path, command);
            var run = await Shell.RunAsync($"dotnet '{cli}' etcd {command} --store '{store}' --data-dir '{dataDir}' {member}", root.Path,
                new Dictionary<string, string?> { ["PATH"] = bin });
            Assert.True(run.ExitCode == 0, $"etcd {command} in the image\n{run}");
            await using var restored = await EtcdServer.StartAsync(dataDir: dataDir);
            using var client = restored.CreateClient();
            Assert.Equal(revision, (await client.StatusAsync(null, default)).Header.Revision);
            Assert.Equal("2", (await client.GetAsync("/image/b", default)).Kvs.Single().Value.ToStringUtf8());
        }
    }

    [Fact]
    public void DockerIgnore_LeavesBuildOutputAndHistoryOut_ButKeepsSources()
    {
        var ignore = DockerIgnore.Load(Repository.Path(".dockerignore"));

        Assert.True(ignore.Excludes("src/Lifeboat.Cli/bin/Release/net10.0/lifeboat.dll"));
        Assert.True(ignore.Excludes("src/Lifeboat.Core/obj/project.assets.json"));
        Assert.True(ignore.Excludes(".git/HEAD"));
        Assert.True(ignore.Excludes(".lifeboat/cli/lifeboat"));
        Assert.False(ignore.Excludes("src/Lifeboat.Cli/Program.cs"));
        Assert.False(ignore.Excludes(".editorconfig"));
        Assert.False(ignore.Excludes("src/Lifeboat.Etcd/Protos/etcd.proto"));
    }

    /// <summary>The lines of the first stage, continuation lines joined, comments dropped.</summary>
    private static List<(string Directive, string Text)> BuildStage(string[] lines)
    {
        var stage = new List<(string, string)>();
        var joined = new List<string>();
        var current = "";
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            current += line.EndsWith('\\') ? line[..^1] + " " : line;
            if (!line.EndsWith('\\'))
            {
                joined.Add(current);
                current = "";
            }
        }

        foreach (var line in joined)
        {
            var match = Directive().Match(line);
            Assert.True(match.Success, $"not a Dockerfile directive: {line}");
            if (match.Groups["directive"].Value == "FROM" && stage.Count > 0)
            {
                break; // the runtime stage only copies the build stage's output
            }

            stage.Add((match.Groups["directive"].Value, match.Groups["rest"].Value.Trim()));
        }

        return stage;
    }

    private static string Inside(string root, string imagePath) => Path.Combine(root, imagePath.TrimStart('/'));

    /// <summary>COPY's rules: a directory's contents go into the destination; a file goes into it (a destination ending in /).</summary>
    private static void Copy(string source, string destination, DockerIgnore ignore)
    {
        var from = Repository.Path(source.TrimEnd('/'));
        if (Directory.Exists(from))
        {
            foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(Repository.Root, file).Replace('\\', '/');
                if (!ignore.Excludes(relative))
                {
                    var target = Path.Combine(destination, Path.GetRelativePath(from, file));
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(file, target);
                }
            }

            return;
        }

        Assert.True(File.Exists(from), $"COPY names {source}, which is not in the repository");
        Assert.False(ignore.Excludes(source), $"COPY names {source}, which .dockerignore leaves out of the context");
        Directory.CreateDirectory(destination);
        File.Copy(from, Path.Combine(destination, Path.GetFileName(from)));
    }

    /// <summary>
    /// The .dockerignore rules this repository uses: one path pattern per line, <c>*</c> within a path segment and
    /// <c>**</c> across segments; a match also excludes everything beneath it. Exceptions (<c>!</c>) are refused rather
    /// than half-supported.
    /// </summary>
    private sealed class DockerIgnore(List<Regex> patterns)
    {
        public static DockerIgnore Load(string path)
        {
            var patterns = new List<Regex>();
            foreach (var raw in File.ReadAllLines(path))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                Assert.False(line.StartsWith('!'), "exceptions in .dockerignore are not reproduced by this test");
                var body = Regex.Escape(line.Trim('/')).Replace(@"\*\*/", "(?:.*/)?", StringComparison.Ordinal)
                    .Replace(@"\*\*", ".*", StringComparison.Ordinal).Replace(@"\*", "[^/]*", StringComparison.Ordinal)
                    .Replace(@"\?", "[^/]", StringComparison.Ordinal);
                patterns.Add(new Regex($"^{body}(?:/.*)?$"));
            }

            return new DockerIgnore(patterns);
        }

        public bool Excludes(string relativePath) => patterns.Any(p => p.IsMatch(relativePath));
    }
}
