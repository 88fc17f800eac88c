using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;

namespace Metering.Testing;

/// <summary>
/// Runs a service host in-process, the way its own Program runs it, on real SQLite files in a
/// fresh temporary folder and the in-memory bus. <typeparamref name="TEntry"/> is any public type of
/// the host's assembly (its module). gRPC goes through <see cref="Channel"/> over HTTP/2, JSON
/// through <see cref="WebApplicationFactory{TEntryPoint}.CreateClient()"/>. Both send the operator's
/// development key unless the test chooses another (<see cref="ApiKey"/>, <see cref="ChannelFor"/>).
/// </summary>
public class ServiceFactory<TEntry> : WebApplicationFactory<TEntry> where TEntry : class
{
    /// <summary>The operator's development key of the security contract.</summary>
    public const string OperatorKey = "dev-operator.operator-dev-secret";

    private readonly Dictionary<string, string?> _settings;
    private readonly Dictionary<string, GrpcChannel> _channels = new();
    private GrpcChannel? _channel;

    public ServiceFactory(IDictionary<string, string?>? settings = null)
    {
        DataDirectory = Path.Combine(Path.GetTempPath(), "metering-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataDirectory);
        _settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["Bus:Transport"] = "InMemory",
            ["ConnectionStrings:Accounts"] = $"Data Source={Path.Combine(DataDirectory, "accounts.db")}",
            ["ConnectionStrings:Readings"] = $"Data Source={Path.Combine(DataDirectory, "readings.db")}",
            ["ConnectionStrings:Billing"] = $"Data Source={Path.Combine(DataDirectory, "billing.db")}",
            ["ConnectionStrings:Payments"] = $"Data Source={Path.Combine(DataDirectory, "payments.db")}",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Security:DevelopmentKeys"] = "true",
        };
        if (settings is not null)
            foreach (var (key, value) in settings)
                _settings[key] = value;
    }

    public string DataDirectory { get; }

    /// <summary>The key <see cref="Channel"/> and <see cref="WebApplicationFactory{TEntryPoint}.CreateClient()"/> send; null sends none.</summary>
    public string? ApiKey { get; set; } = OperatorKey;

    /// <summary>A gRPC channel sending <see cref="ApiKey"/> (read when the channel is first used).</summary>
    public GrpcChannel Channel => _channel ??= ChannelFor(ApiKey);

    /// <summary>A gRPC channel sending this key (<c>keyId.secret</c>), or no key when null.</summary>
    public GrpcChannel ChannelFor(string? apiKey)
    {
        var name = apiKey ?? "";
        if (!_channels.TryGetValue(name, out var channel))
        {
            channel = GrpcChannel.ForAddress(Server.BaseAddress,
                new GrpcChannelOptions { HttpHandler = new ApiKeyHandler(apiKey) { InnerHandler = Server.CreateHandler() } });
            _channels[name] = channel;
        }
        return channel;
    }

    /// <summary>An HTTP client (JSON routes) sending this key, or none when null.</summary>
    public HttpClient CreateClientWithKey(string? apiKey)
    {
        var client = CreateDefaultClient();
        client.DefaultRequestHeaders.Remove(ApiKeyHandler.Header);
        if (apiKey is not null)
            client.DefaultRequestHeaders.Add(ApiKeyHandler.Header, apiKey);
        return client;
    }

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        if (ApiKey is not null && !client.DefaultRequestHeaders.Contains(ApiKeyHandler.Header))
            client.DefaultRequestHeaders.Add(ApiKeyHandler.Header, ApiKey);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        // UseSetting, not ConfigureAppConfiguration: the services read their settings while the builder is set up.
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var channel in _channels.Values)
            channel.Dispose();
        base.Dispose(disposing);
        if (disposing)
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(DataDirectory, recursive: true); }
            catch (IOException) { }
        }
    }
}

/// <summary>Adds the <c>x-api-key</c> header to every request.</summary>
public sealed class ApiKeyHandler(string? apiKey) : DelegatingHandler
{
    public const string Header = "x-api-key";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (apiKey is not null)
            request.Headers.TryAddWithoutValidation(Header, apiKey);
        return base.SendAsync(request, cancellationToken);
    }
}
