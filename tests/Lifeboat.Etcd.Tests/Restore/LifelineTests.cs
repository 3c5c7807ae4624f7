using System.Diagnostics;
using Lifeboat.Etcd.Restore;
using Lifeboat.Testing;

namespace Lifeboat.Etcd.Tests.Restore;

/// <summary>
/// The wrapper a temporary etcd (init's proof of a directory) runs under: when the process holding the other end of
/// its lifeline dies — by SIGKILL, with no chance to clean up — what it wraps is stopped; and it passes on the wrapped
/// program's exit status.
/// </summary>
public sealed class LifelineTests
{
    [Fact]
    public async Task WhenTheParentIsKilled_TheWrappedProgramStops()
    {
        var seconds = $"1000.{Random.Shared.Next(100_000, 999_999)}"; // a duration no other process here sleeps for
        var marker = $"sleep\0{seconds}";
        // `sleep 999` holds the write end of the lifeline pipe, as Lifeboat does; the wrapped program is a `sleep` of
        // its own duration, to be found by.
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"sleep 999 | /bin/sh -c '{EtcdTools.Lifeline.Replace("'", "'\\''", StringComparison.Ordinal)}' sleep {seconds}");
        using var pipeline = Process.Start(psi)!;
        var wrapped = await Eventually.SucceedsAsync(_ => Task.FromResult(Processes.StartingWith(marker) is { Count: > 0 } found ? found : throw new InvalidOperationException("not started")),
            TimeSpan.FromSeconds(10), "the wrapped program to start");
        var parent = Processes.ChildrenOf(pipeline.Id).Single(p => Processes.CommandLine(p).StartsWith("sleep\0999", StringComparison.Ordinal));

        Process.GetProcessById(parent).Kill(); // SIGKILL: the lifeline's write end closes with it

        await Eventually.SucceedsAsync(_ => Task.FromResult(Processes.StartingWith(marker).Count == 0 ? true : throw new InvalidOperationException("still running")),
            TimeSpan.FromSeconds(10), "the wrapped program to stop");
        await pipeline.WaitForExitAsync();
        Assert.Single(wrapped);
    }

    [Fact]
    public async Task TheWrappedProgramsExitStatus_IsTheWrappers()
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(EtcdTools.Lifeline);
        psi.ArgumentList.Add("/bin/sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exit 7");
        using var wrapper = Process.Start(psi)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await wrapper.WaitForExitAsync(timeout.Token);
        Assert.Equal(7, wrapper.ExitCode);
    }
}
