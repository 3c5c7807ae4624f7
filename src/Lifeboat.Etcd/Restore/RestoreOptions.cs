namespace Lifeboat.Etcd.Restore;

/// <summary>Where and how a restore lays out etcd's data directory.</summary>
public sealed record RestoreOptions
{
    /// <summary>The data directory to create; must be missing or empty unless <see cref="Force"/>.</summary>
    public required string DataDir { get; init; }

    public MemberFlags Member { get; init; } = new();

    /// <summary>Replace a non-empty data directory; its previous contents are moved aside to <c>DIR.replaced-&lt;UTC time&gt;</c>, never deleted.</summary>
    public bool Force { get; init; }

    /// <summary>With <see cref="Force"/>: the word in the name the previous contents are moved aside to (<c>DIR.&lt;word&gt;-&lt;UTC time&gt;</c>).</summary>
    public string AsideName { get; init; } = "replaced";

    /// <summary>With <see cref="Force"/>: delete the previous contents once the restored directory is in place, instead of keeping them.</summary>
    public bool DiscardPrevious { get; init; }

    /// <summary>Where the database is written before the layout; null picks /dev/shm when it has room, else a directory beside the data directory.</summary>
    public string? ScratchDir { get; init; }
}
