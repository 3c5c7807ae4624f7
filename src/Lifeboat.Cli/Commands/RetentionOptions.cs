using System.CommandLine;
using Lifeboat.Core.Retention;

namespace Lifeboat.Cli.Commands;

/// <summary>
/// --keep-last, --max-age, --keep-hourly/-daily/-weekly: the count-, age- and tier-based retention that volume snapshot
/// and resource backup schedules share (<see cref="TimedRetention"/>).
/// </summary>
/// <param name="what">What is kept, for the help text ("ready snapshots per PVC", "completed backups").</param>
internal sealed class RetentionOptions(string what)
{
    private readonly Option<int?> _keepLast = new Option<int?>("--keep-last") { Description = $"Keep the newest N {what} (default 7 when no other keep rule is given)" }.Integer(min: 1);
    private readonly Option<TimeSpan?> _maxAge = new Option<TimeSpan?>("--max-age") { Description = $"Delete {what} older than this (e.g. 30d); the newest good one stays" }.Duration(TimeSpan.FromMinutes(1));
    private readonly Option<int> _hourly = new Option<int>("--keep-hourly") { Description = "Keep the newest of each of the last N hours" }.Integer();
    private readonly Option<int> _daily = new Option<int>("--keep-daily") { Description = "Keep the newest of each of the last N days" }.Integer();
    private readonly Option<int> _weekly = new Option<int>("--keep-weekly") { Description = "Keep the newest of each of the last N weeks" }.Integer();

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _keepLast, _maxAge, _hourly, _daily, _weekly })
        {
            command.Options.Add(o);
        }
    }

    /// <exception cref="ArgumentException">A count below 1 or a non-positive age.</exception>
    public TimedRetentionPolicy Read(ParseResult parse)
    {
        var retention = new TimedRetentionPolicy
        {
            KeepLast = parse.GetValue(_keepLast),
            MaxAge = parse.GetValue(_maxAge),
            Hourly = parse.GetValue(_hourly),
            Daily = parse.GetValue(_daily),
            Weekly = parse.GetValue(_weekly),
        };
        if (!retention.HasKeepRule)
        {
            retention = retention with { KeepLast = 7 };
        }

        retention.Validate();
        return retention;
    }
}
