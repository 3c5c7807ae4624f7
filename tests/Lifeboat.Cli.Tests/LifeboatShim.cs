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
}
