using System.Globalization;
using System.Net;

namespace Lifeboat.Cli.Hosting;

/// <summary>
/// The sidecar API's <c>--listen</c> address, read strictly: an IP address (or <c>localhost</c>, or <c>*</c> for every
/// interface) and a port. Anything else is refused instead of being handed to Kestrel, which binds every interface on
/// port 80 for a value it cannot read as a URL.
/// </summary>
internal static class ListenAddress
{
    /// <exception cref="ArgumentException">Not host:port; the message says how to write it.</exception>
    public static IPEndPoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.LastIndexOf(':');
        var bracketEnd = text.LastIndexOf(']');
        if (colon <= 0 || colon < bracketEnd || colon == text.Length - 1)
        {
            throw Invalid(text, "it has no port");
        }

        var host = text[..colon];
        var portText = text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw Invalid(text, $"'{portText}' is not a port (1-65535)");
        }

        IPAddress? address = host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" => IPAddress.IPv6Any,
            _ when host.StartsWith('[') && host.EndsWith(']') && IPAddress.TryParse(host[1..^1], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 => v6,
            _ when !host.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(host, out var v4) && host.Count(c => c == '.') == 3 => v4,
            _ => null,
        };
        return address is null
            ? throw Invalid(text, $"'{host}' is not an IP address (write IPv6 in brackets; host names other than localhost are not resolved)")
            : new IPEndPoint(address, port);
    }

    /// <summary>Whether only this machine can reach the address.</summary>
    public static bool IsLoopback(IPEndPoint endpoint) => IPAddress.IsLoopback(endpoint.Address);

    private static ArgumentException Invalid(string text, string why) =>
        new($"--listen '{text}' is not an address to listen on: {why}; write it like 127.0.0.1:8080, [::1]:8080 or 0.0.0.0:8080");
}
