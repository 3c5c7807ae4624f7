using System.Globalization;

namespace Lifeboat.Testing;

/// <summary>The processes of this machine, read from /proc: for tests that kill a process and check what it leaves running.</summary>
public static class Processes
{
    /// <summary>The command line of a process, its arguments separated by NUL; empty when it is gone.</summary>
    public static string CommandLine(int pid) => Read($"/proc/{pid}/cmdline");

    /// <summary>Processes whose command line starts with <paramref name="text"/> (the program itself, not a shell naming it).</summary>
    public static List<int> StartingWith(string text) => [.. All().Where(p => CommandLine(p).StartsWith(text, StringComparison.Ordinal))];

    /// <summary>The processes whose parent is <paramref name="pid"/>.</summary>
    public static List<int> ChildrenOf(int pid) =>
        [.. All().Where(p => Read($"/proc/{p}/stat") is { Length: > 0 } stat
            && stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == pid.ToString(CultureInfo.InvariantCulture))];

    private static IEnumerable<int> All() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => int.TryParse(n, out _)).Select(n => int.Parse(n!, CultureInfo.InvariantCulture));

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ""; // gone meanwhile
        }
    }
}
