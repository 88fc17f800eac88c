using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Metering.EndToEnd.Tests;

/// <summary>
/// The real broker on localhost. Each test run gets a fresh virtual host (created through the
/// management API), so queues left by an earlier run cannot feed it stale messages.
/// </summary>
internal sealed class RabbitMqBroker : IAsyncDisposable
{
    public const string HowToGetIt =
        "The end-to-end tests need RabbitMQ on localhost:5672 with the management plugin on :15672 (user guest). " +
        "Run scripts/test.sh, which installs Debian's rabbitmq-server when missing and starts it, " +
        "or run scripts/ensure-rabbitmq.sh before dotnet test.";

    private readonly HttpClient _management;

    private RabbitMqBroker(HttpClient management, string virtualHost)
    {
        _management = management;
        VirtualHost = virtualHost;
    }

    public string VirtualHost { get; }

    public static async Task<RabbitMqBroker> CreateVirtualHostAsync()
    {
        await EnsureReachableAsync();
        var management = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:15672/api/") };
        management.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes("guest:guest")));
        var vhost = $"metering-e2e-{Guid.NewGuid():N}";
        try
        {
            (await management.PutAsync($"vhosts/{vhost}", null)).EnsureSuccessStatusCode();
            var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
            (await management.PutAsync($"permissions/{vhost}/guest", permissions)).EnsureSuccessStatusCode();
        }
        catch (HttpRequestException ex)
        {
            management.Dispose();
            throw new InvalidOperationException($"RabbitMQ's management API refused to create a virtual host: {ex.Message}. {HowToGetIt}", ex);
        }
        return new RabbitMqBroker(management, vhost);
    }

    private static async Task EnsureReachableAsync()
    {
        foreach (var port in new[] { 5672, 15672 })
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", port).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                throw new InvalidOperationException($"Nothing listens on 127.0.0.1:{port}. {HowToGetIt}", ex);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { await _management.DeleteAsync($"vhosts/{VirtualHost}"); }
        catch (HttpRequestException) { }
        _management.Dispose();
    }
}
