using System.Net;
using System.Net.Sockets;

namespace Metering.Testing;

/// <summary>
/// Loopback ports for the hosts a test starts. Asking the kernel for port 0 and closing the listener
/// hands out a port from the ephemeral range, which any outgoing connection (a broker client, an
/// HttpClient, another test process) may take before the host binds it. These ports come from below
/// that range, are never handed out twice by one test process, and are free when handed out.
/// </summary>
public static class TestPorts
{
    private const int Lowest = 20000;
    private static readonly HashSet<int> HandedOut = [];
    private static readonly int EphemeralStart = ReadEphemeralStart();

    public static int Next()
    {
        lock (HandedOut)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(Lowest, EphemeralStart);
                if (HandedOut.Contains(port) || !IsFree(port))
                    continue;
                HandedOut.Add(port);
                return port;
            }
        }
        throw new InvalidOperationException($"no free loopback port between {Lowest} and {EphemeralStart}");
    }

    /// <summary>Whether a host that failed to start did so because its port was taken after all.</summary>
    public static bool IsAddressInUse(Exception exception) =>
        exception is Microsoft.AspNetCore.Connections.AddressInUseException
        || (exception.InnerException is { } inner && IsAddressInUse(inner));

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // Linux publishes the range; elsewhere the IANA default (49152) leaves plenty below it.
    private static int ReadEphemeralStart()
    {
        const string path = "/proc/sys/net/ipv4/ip_local_port_range";
        if (File.Exists(path)
            && int.TryParse(File.ReadAllText(path).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], out var start)
            && start > Lowest + 1000)
            return start;
        return 49152;
    }
}
