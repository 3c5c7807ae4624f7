using System.CommandLine;
using Lifeboat.Core.Storage;
using Lifeboat.Storage;

namespace Lifeboat.Cli.Commands;

/// <summary>The <c>--store</c> flag shared by every command that reads or writes snapshots.</summary>
internal sealed class StoreOptions
{
    public Option<string> Store { get; } = new("--store")
    {
        Description = "Snapshot store: file:///path or a directory path [env: LIFEBOAT_STORE]",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LIFEBOAT_STORE") ?? "",
    };

    public void AddTo(Command command) => command.Options.Add(Store);

    /// <param name="create">False for commands that only read (list, restore): nothing is created.</param>
    public ISnapshotStore Open(ParseResult parse, TimeProvider time, bool create = true)
    {
        var location = parse.GetValue(Store);
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new ArgumentException("no snapshot store given: pass --store file:///path/to/backups (or set LIFEBOAT_STORE)");
        }

        return StoreLocation.Open(location, time, create);
    }
}
