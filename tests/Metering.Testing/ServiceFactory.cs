using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;

namespace Metering.Testing;

/// <summary>
/// Runs a service host in-process, the way its own Program runs it, on real SQLite files in a
/// fresh temporary folder and the in-memory bus. <typeparamref name="TEntry"/> is any public type of
/// the host's assembly (its module). gRPC goes through <see cref="Channel"/> over HTTP/2, JSON
/// through <see cref="WebApplicationFactory{TEntryPoint}.CreateClient()"/>.
/// </summary>
public class ServiceFactory<TEntry> : WebApplicationFactory<TEntry> where TEntry : class
{
    private readonly Dictionary<string, string?> _settings;
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
        };
        if (settings is not null)
            foreach (var (key, value) in settings)
                _settings[key] = value;
    }

    public string DataDirectory { get; }

    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress(Server.BaseAddress,
        new GrpcChannelOptions { HttpHandler = Server.CreateHandler() });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        // UseSetting, not ConfigureAppConfiguration: the services read their settings while the builder is set up.
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
    }

    protected override void Dispose(bool disposing)
    {
        _channel?.Dispose();
        base.Dispose(disposing);
        if (disposing)
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(DataDirectory, recursive: true); }
            catch (IOException) { }
        }
    }
}
