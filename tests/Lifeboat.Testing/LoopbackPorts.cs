using System.Net;
using System.Net.Sockets;

namespace Lifeboat.Testing;

/// <summary>Free loopback ports for servers the tests start.</summary>
public static class LoopbackPorts
{
    /// <summary>A port that was free a moment ago; servers that fail to bind it are restarted on another by their fixture.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
