using Microsoft.Data.Sqlite;

namespace Metering.EndToEnd.Tests;

/// <summary>
/// Accounts, Readings, Billing and Payments as four processes, each on its own SQLite file,
/// talking only through a real RabbitMQ broker (a fresh virtual host per run).
/// </summary>
public sealed class DistributedSystem : IAsyncLifetime
{
    public static readonly string[] ServiceNames = ["Accounts", "Readings", "Billing", "Payments"];

    private readonly Dictionary<string, ServiceProcess> _services = new();
    private RabbitMqBroker? _broker;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "metering-e2e", Guid.NewGuid().ToString("N"));

    public ServiceProcess this[string service] => _services[service];

    public async Task InitializeAsync()
    {
        _broker = await RabbitMqBroker.CreateVirtualHostAsync();
        Directory.CreateDirectory(DataDirectory);
        foreach (var service in ServiceNames)
            _services[service] = Start(service, new Dictionary<string, string>());
        await Task.WhenAll(_services.Values.Select(s => s.WaitHealthyAsync(TimeSpan.FromSeconds(120))));
    }

    /// <summary>Kills a service (if running) and starts it again on the same database, with extra settings.</summary>
    public async Task RestartAsync(string service, IDictionary<string, string> settings)
    {
        await _services[service].DisposeAsync();
        _services[service] = Start(service, settings);
        await _services[service].WaitHealthyAsync(TimeSpan.FromSeconds(120));
    }

    public string Diagnostics() =>
        string.Join(Environment.NewLine, _services.Values.Select(s => $"--- {s.Name} ---{Environment.NewLine}{s.Tail(25)}"));

    private ServiceProcess Start(string service, IDictionary<string, string> settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["Database__Provider"] = "Sqlite",
            [$"ConnectionStrings__{service}"] = $"Data Source={Path.Combine(DataDirectory, service.ToLowerInvariant() + ".db")}",
            ["Bus__Transport"] = "RabbitMq",
            ["Bus__RabbitMq__Host"] = "127.0.0.1",
            ["Bus__RabbitMq__VirtualHost"] = _broker!.VirtualHost,
            ["Bus__RabbitMq__Username"] = "guest",
            ["Bus__RabbitMq__Password"] = "guest",
        };
        foreach (var (key, value) in settings)
            environment[key] = value;
        return ServiceProcess.Start(service, DataDirectory, environment);
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services.Values)
            await service.DisposeAsync();
        if (_broker is not null)
            await _broker.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); }
        catch (IOException) { }
    }
}
