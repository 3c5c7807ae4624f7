using Lifeboat.Cli;

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // let the command unwind and clean up its partial snapshot
    interrupted.Cancel();
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    interrupted.Cancel();
});

var interactive = !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");
return await LifeboatCli.RunAsync(args, Console.Out, Console.Error, interactive, interrupted.Token);
