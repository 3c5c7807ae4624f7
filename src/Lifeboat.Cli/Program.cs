using System.Runtime.InteropServices;
using Lifeboat.Cli;

using var interrupted = new CancellationTokenSource();

// Cancel from the signal thread without running the command's continuations on it: a synchronous Cancel() there
// could let Main finish and dispose the source while Cancel() is still on the stack (seen as an abort, exit 134).
void Interrupt()
{
    try
    {
        _ = interrupted.CancelAsync();
    }
    catch (ObjectDisposedException)
    {
        // Main has already finished.
    }
}

Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // let the command unwind and clean up its partial snapshot
    Interrupt();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    Interrupt();
});

var interactive = !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");
return await LifeboatCli.RunAsync(args, Console.Out, Console.Error, interactive, interrupted.Token);
