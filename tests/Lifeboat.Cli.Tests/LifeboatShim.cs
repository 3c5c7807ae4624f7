namespace Lifeboat.Cli.Tests;

/// <summary>An executable <c>lifeboat</c> in a directory that runs the CLI these tests were built with, for command lines run through bash.</summary>
internal static class LifeboatShim
{
    public static async Task WriteAsync(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the CLI's shell tests run on Linux, as Lifeboat does");
        }

        var shim = Path.Combine(directory, "lifeboat");
        await File.WriteAllTextAsync(shim, $"#!/bin/sh\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "lifeboat.dll")}' \"$@\"\n");
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>
    /// A directory holding only <c>dotnet</c> (a link to the real one), to run the CLI with as PATH: as in the container
    /// image, no etcd or etcdctl is found.
    /// </summary>
    public static string DotnetOnlyPath(string directory)
    {
        var bin = Path.Combine(directory, "bin");
        Directory.CreateDirectory(bin);
        var dotnet = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "dotnet")).First(File.Exists);
        File.CreateSymbolicLink(Path.Combine(bin, "dotnet"), new FileInfo(dotnet).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dotnet);
        return bin;
    }
}
