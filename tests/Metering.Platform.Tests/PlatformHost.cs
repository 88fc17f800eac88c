using MassTransit;
using Metering.Hosting;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Microsoft.AspNetCore.Routing;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Metering.Platform.Tests;

public sealed class PlatformHostOptions
{
    public bool RelayEnabled { get; set; } = true;

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan? Lease { get; set; }

    public int? BatchSize { get; set; }

    public int? MaxInFlight { get; set; }

    public TimeSpan? Retention { get; set; }

    public TimeSpan? MinPassInterval { get; set; }

    /// <summary>Replaces the relay's clock (leases) when set.</summary>
    public TimeProvider? Clock { get; set; }

    public Action<IBusRegistrationConfigurator>? Consumers { get; set; }
}

/// <summary>
/// A service process in miniature, wired the way a real one is: <see cref="ServiceDatabase.AddServiceDatabase{TContext,TSqlite,TSqlServer}"/>
/// on a real SQLite file (outbox signal, relay) and <see cref="MeteringBus.AddMeteringBus"/> on the in-memory
/// transport (retry policy, one queue per service), plus a probe that watches the bus.
/// </summary>
public sealed class PlatformHost : IAsyncDisposable
{
    private readonly IHost _host;

    private PlatformHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public BusProbe Probe => Services.GetRequiredService<BusProbe>();

    public ConsumerLog Log => Services.GetRequiredService<ConsumerLog>();

    public IBus Bus => Services.GetRequiredService<IBus>();

    public OutboxRelay<TestDb> Relay => Services.GetRequiredService<OutboxRelay<TestDb>>();

    public static async Task<PlatformHost> StartAsync(string databaseFile, PlatformHostOptions? options = null)
    {
        options ??= new PlatformHostOptions();
        var connectionString = $"Data Source={databaseFile}";
        await CreateDatabaseAsync(connectionString);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            EnvironmentName = "Testing",
        });
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Platform"] = connectionString,
            ["Outbox:RelayEnabled"] = options.RelayEnabled ? "true" : "false",
            ["Outbox:PollInterval"] = options.PollInterval.ToString("c"),
        };
        if (options.Lease is { } lease)
            settings["Outbox:Lease"] = lease.ToString("c");
        if (options.BatchSize is { } batchSize)
            settings["Outbox:BatchSize"] = batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (options.MaxInFlight is { } maxInFlight)
            settings["Outbox:MaxInFlight"] = maxInFlight.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (options.Retention is { } retention)
            settings["Outbox:Retention"] = retention.ToString("c");
        if (options.MinPassInterval is { } minPassInterval)
            settings["Outbox:MinPassInterval"] = minPassInterval.ToString("c");
        builder.Configuration.AddInMemoryCollection(settings);

        var probe = new BusProbe();
        builder.Services.AddSingleton(probe);
        builder.Services.AddSingleton<ConsumerLog>();
        builder.Services.AddSingleton<SampleWitness>();
        if (options.Clock is not null)
            builder.Services.AddSingleton(options.Clock);

        var module = new TestModule(options.Consumers);
        module.AddServices(builder);
        builder.AddMeteringBus([module]);
        builder.Services.AddPublishObserver(_ => probe);
        builder.Services.AddSendObserver(_ => probe);
        builder.Services.AddConsumeObserver(_ => probe);

        var host = builder.Build();
        var busControl = host.Services.GetRequiredService<IBusControl>();
        probe.BusStarted = () => busControl.CheckHealth().Status == BusHealthStatus.Healthy;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(timeout.Token);
        return new PlatformHost(host);
    }

    public async Task<T> InDbAsync<T>(Func<TestDb, Task<T>> work)
    {
        await using var scope = Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<TestDb>());
    }

    public async Task InDbAsync(Func<TestDb, Task> work)
    {
        await using var scope = Services.CreateAsyncScope();
        await work(scope.ServiceProvider.GetRequiredService<TestDb>());
    }

    /// <summary>What a request handler does: a state change and its event in one SaveChanges.</summary>
    public Task<OutboxMessage> CreateWidgetAsync(string name, int sequence = 1) => InDbAsync(async db =>
    {
        db.Widgets.Add(new Widget { Name = name });
        var row = db.Publish(new WidgetCreated(name, sequence));
        await db.SaveChangesAsync();
        return row;
    });

    public Task<OutboxMessage> OutboxRowAsync(long id) =>
        InDbAsync(db => db.OutboxMessages.AsNoTracking().SingleAsync(m => m.Id == id));

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }

    /// <summary>What a service's migrations do at start, for a test model: the schema, and WAL like <c>DatabaseMigrator</c>.</summary>
    public static async Task CreateDatabaseAsync(string connectionString)
    {
        await using var db = new TestDb(new DbContextOptionsBuilder<TestDb>().UseSqlite(connectionString).Options);
        await db.Database.EnsureCreatedAsync();
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
    }

    private sealed class TestModule(Action<IBusRegistrationConfigurator>? consumers) : ServiceModule
    {
        public override string Name => "platform";

        public override void AddServices(IHostApplicationBuilder builder) =>
            builder.AddServiceDatabase<TestDb, TestDb, TestDb>("Platform");

        public override void AddConsumers(IBusRegistrationConfigurator bus) => consumers?.Invoke(bus);

        public override void MapEndpoints(IEndpointRouteBuilder endpoints)
        {
        }
    }
}

/// <summary>A fresh folder per test for its SQLite files, deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "metering-platform-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A clock the test moves by hand (lease expiry).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
