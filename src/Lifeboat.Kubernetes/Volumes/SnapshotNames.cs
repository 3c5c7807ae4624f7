using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Lifeboat.Kubernetes.Volumes;

/// <summary>
/// Names and labels of the snapshots Lifeboat makes. A scheduled snapshot is <c>&lt;pvc&gt;-&lt;schedule&gt;-&lt;UTC slot
/// yyyyMMddHHmm&gt;</c>: the slot is the scheduled time, not the time the job ran, so a retried job finds the snapshot
/// it already made instead of making another. Names stay within the 253 characters of a DNS subdomain: when the claim
/// and schedule names are too long, the longer is shortened and a hash of both keeps the name unique.
/// </summary>
public static partial class SnapshotNames
{
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedBy = "lifeboat";
    public const string ScheduleLabel = "lifeboat.io/schedule";
    public const string SlotLabel = "lifeboat.io/slot";
    public const string ClaimLabel = "lifeboat.io/pvc";

    /// <summary>Snapshots labelled <c>lifeboat.io/keep=true</c> are never deleted by retention.</summary>
    public const string KeepLabel = "lifeboat.io/keep";

    /// <summary>The schedule name of snapshots taken on demand.</summary>
    public const string OnDemand = "manual";

    private const int MaxName = 253;

    public static string SlotText(DateTimeOffset slot) => slot.UtcDateTime.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture);

    /// <summary>The name of the snapshot of <paramref name="claim"/> for one schedule slot.</summary>
    public static string ForSlot(string claim, string schedule, DateTimeOffset slot) => Compose(claim, schedule, SlotText(slot));

    /// <summary>The name of an on-demand snapshot taken at <paramref name="at"/> (to the second).</summary>
    public static string ForOnDemand(string claim, DateTimeOffset at, string kind = OnDemand) =>
        Compose(claim, kind, at.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture));

    /// <summary>The labels of a snapshot Lifeboat makes (the claim's label only when it fits a label value).</summary>
    public static Dictionary<string, string> Labels(string claim, string schedule, string? slot)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { [ManagedByLabel] = ManagedBy, [ScheduleLabel] = schedule };
        if (slot is not null)
        {
            labels[SlotLabel] = slot;
        }

        if (claim.Length <= 63)
        {
            labels[ClaimLabel] = claim;
        }

        return labels;
    }

    /// <exception cref="ArgumentException">Not a DNS label (lower case letters, digits and '-', at most 40 characters).</exception>
    public static void ValidateSchedule(string schedule)
    {
        if (schedule.Length is 0 or > 40 || !DnsLabel().IsMatch(schedule))
        {
            throw new ArgumentException(
                $"schedule name '{schedule}' is not valid: use 1-40 lower case letters, digits and '-', starting and ending with a letter or digit (it becomes part of snapshot names and a label)");
        }
    }

    private static string Compose(string claim, string schedule, string stamp)
    {
        var budget = MaxName - stamp.Length - 2;
        if (claim.Length + 1 + schedule.Length <= budget)
        {
            return $"{claim}-{schedule}-{stamp}";
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(claim + "/" + schedule)))[..8];
        budget -= hash.Length + 1;
        var scheduleLength = Math.Min(schedule.Length, budget / 2);
        var claimLength = budget - 1 - scheduleLength;
        return $"{Trim(claim[..Math.Min(claim.Length, claimLength)])}-{Trim(schedule[..scheduleLength])}-{hash}-{stamp}";
    }

    private static string Trim(string part) => part.TrimEnd('-', '.');

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
