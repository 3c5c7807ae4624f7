using System.Text.RegularExpressions;
using Lifeboat.Kubernetes.Volumes;

namespace Lifeboat.Kubernetes.Tests.Volumes;

public sealed partial class SnapshotNamesTests
{
    private static readonly DateTimeOffset Slot = new(2026, 11, 21, 14, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ForSlot_IsPvcScheduleAndUtcSlot_TheSameForEveryRetryOfTheSlot()
    {
        Assert.Equal("data-hourly-202611211400", SnapshotNames.ForSlot("data", "hourly", Slot));
        Assert.Equal(SnapshotNames.ForSlot("data", "hourly", Slot), SnapshotNames.ForSlot("data", "hourly", Slot.ToOffset(TimeSpan.FromHours(2))));
        Assert.NotEqual(SnapshotNames.ForSlot("data", "hourly", Slot), SnapshotNames.ForSlot("data", "hourly", Slot.AddHours(1)));
    }

    [Fact]
    public void ForSlot_LongNames_StayWithin253_AreValidAndStayDistinct()
    {
        var a = new string('a', 240) + "-one";
        var b = new string('a', 240) + "-two";
        var nameA = SnapshotNames.ForSlot(a, "hourly", Slot);
        var nameB = SnapshotNames.ForSlot(b, "hourly", Slot);

        Assert.True(nameA.Length <= 253, nameA.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Matches(Subdomain(), nameA);
        Assert.NotEqual(nameA, nameB);
        Assert.EndsWith("-202611211400", nameA, StringComparison.Ordinal);
        Assert.Equal(nameA, SnapshotNames.ForSlot(a, "hourly", Slot));
        var dotted = SnapshotNames.ForSlot(new string('b', 124) + "." + new string('c', 130), "hourly", Slot);
        Assert.Matches(Subdomain(), dotted);
    }

    [Fact]
    public void Labels_LeaveOutAClaimNameTooLongForALabelValue()
    {
        Assert.Equal("data", SnapshotNames.Labels("data", "hourly", "202611211400")[SnapshotNames.ClaimLabel]);
        Assert.False(SnapshotNames.Labels(new string('x', 64), "hourly", null).ContainsKey(SnapshotNames.ClaimLabel));
    }

    [Theory]
    [InlineData("Hourly")]
    [InlineData("-x")]
    [InlineData("")]
    [InlineData("a_b")]
    public void ValidateSchedule_RefusesWhatCannotBeANameOrLabel(string schedule) =>
        Assert.Throws<ArgumentException>(() => SnapshotNames.ValidateSchedule(schedule));

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Subdomain();
}
