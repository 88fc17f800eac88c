using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Metering.Contracts.Events;
using Metering.Hosting;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Platform.Benchmarks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Times the outbox relay alone: N committed rows in a SQLite outbox, published to a bus whose consumer
// counts them. Usage: [--small 100000] [--large 1000] [--readings-per-large 1000] [--batch-size N] [--max-in-flight N] [--rabbitmq]
// [--reserialize] (the relay as before: deserialise each body and let MassTransit serialise it again)
var small = IntArg("--small", 100_000);
var large = IntArg("--large", 1_000);
var readingsPerLarge = IntArg("--readings-per-large", 1_000);
var batchSize = args.Contains("--batch-size") ? IntArg("--batch-size", 0) : (int?)null;
var maxInFlight = args.Contains("--max-in-flight") ? IntArg("--max-in-flight", 0) : (int?)null;
var rabbit = args.Contains("--rabbitmq");
var reserialize = args.Contains("--reserialize");

var folder = Path.Combine(Path.GetTempPath(), "metering-relay-bench", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(folder);
var counter = new DeliveryCounter();
var host = await BenchHost.StartAsync(Path.Combine(folder, "relay.db"), rabbit, batchSize, maxInFlight, reserialize, counter);
try
{
    Console.WriteLine($"Outbox relay on {(rabbit ? "RabbitMQ (localhost:5672)" : "the in-memory bus")}, batch size "
        + $"{batchSize?.ToString(CultureInfo.InvariantCulture) ?? "default"}, in flight {maxInFlight?.ToString(CultureInfo.InvariantCulture) ?? "default"}, "
        + (reserialize ? "bodies deserialised and serialised again" : "stored bodies published as they are"));
    // A short run first, so that JIT and EF Core's query compilation are not counted against the relay.
    await RunAsync("warm-up", 2_000, i => SmallEvent(i), report: false);
    if (large > 0)
        await RunAsync("warm-up", 20, i => LargeEvent(i, readingsPerLarge), report: false, chunk: 20);
    Console.WriteLine("| messages | kind | seconds | messages/s | CPU µs/message | allocated KB/message | GCs (gen0/1/2) | peak working set MiB |");
    Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
    if (small > 0)
        await RunAsync("AccountOpened", small, i => SmallEvent(i));
    if (large > 0)
        await RunAsync($"ReadingBatchAccepted ({readingsPerLarge} readings)", large, i => LargeEvent(i, readingsPerLarge), chunk: 20);
}
finally
{
    await host.DisposeAsync();
    SqliteConnection.ClearAllPools();
    Directory.Delete(folder, recursive: true);
}

async Task RunAsync(string kind, int count, Func<int, object> message, bool report = true, int chunk = 5_000)
{
    counter.Expect(count);

    // Written in one transaction with the bulk writer, as the services' bulk flows do; the commit wakes the relay.
    // A request's trace is open while writing, so every row carries a traceparent as in production.
    using (var request = new Activity("bench request").SetIdFormat(ActivityIdFormat.W3C).Start())
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<BenchDb>();
        await using var transaction = await db.Database.BeginTransactionAsync();
        for (var start = 0; start < count; start += chunk)
        {
            var rows = new List<OutboxMessage>();
            for (var i = start; i < Math.Min(count, start + chunk); i++)
                rows.Add(db.Publish(message(i)));
            await db.WriteQueuedAsync(rows, CancellationToken.None);
            db.ChangeTracker.Clear();
        }
        GC.Collect();
        counter.Start();
        await transaction.CommitAsync();
    }

    var (elapsed, cpu, allocated, collections) = await counter.WhenAllDeliveredAsync(TimeSpan.FromMinutes(10));
    if (!report)
        return;
    Process.GetCurrentProcess().Refresh();
    var peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {count:N0} | {kind} | {elapsed.TotalSeconds:F2} | {count / elapsed.TotalSeconds:N0} | {cpu.TotalMicroseconds / count:F0} | {allocated / 1024.0 / count:F1} | {collections} | {peak:F0} |"));
}

AccountOpened SmallEvent(int i) => new(
    $"{1_000_000_000 + i}", "张三", $"Block {i % 500}, Unit {i % 97}", "13800000000", 3, $"M{i:D9}", 1_250,
    new DateOnly(2026, 1, 1), DateTimeOffset.UtcNow);

ReadingBatchAccepted LargeEvent(int i, int readings) => new(
    Enumerable.Range(0, readings).Select(r => new ReadingAccepted(Guid.NewGuid(), $"{1_000_000_000 + (i * readings + r) % 1_000_000}",
        new DateOnly(2026, 1, 1), 100_000, new DateOnly(2026, 2, 1), 112_000, 12_000, "Actual", DateTimeOffset.UtcNow)).ToList(),
    DateTimeOffset.UtcNow);

int IntArg(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}

namespace Metering.Platform.Benchmarks
{
    public sealed class BenchDb(DbContextOptions<BenchDb> options) : MessagingDbContext(options);

    /// <summary>
    /// Counts deliveries and the process CPU from the commit to the last one, and what was allocated meanwhile: unlike CPU
    /// time, allocation does not depend on what else the machine runs, so it compares builds on a busy machine too.
    /// </summary>
    public sealed class DeliveryCounter
    {
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _expected;
        private int _delivered;
        private long _startTicks;
        private TimeSpan _startCpu;
        private long _startAllocated;
        private int[] _startCollections = [];

        /// <summary>Runs follow each other on one host (JIT and EF Core's compiled queries stay warm): the next run counts afresh.</summary>
        public void Expect(int count)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _delivered, 0);
            _expected = count;
        }

        public void Start()
        {
            _startCpu = Process.GetCurrentProcess().TotalProcessorTime;
            _startAllocated = GC.GetTotalAllocatedBytes(precise: true);
            _startCollections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
            _startTicks = Stopwatch.GetTimestamp();
        }

        public void Delivered()
        {
            if (Interlocked.Increment(ref _delivered) == _expected)
                _done.TrySetResult();
        }

        public async Task<(TimeSpan Elapsed, TimeSpan Cpu, long Allocated, string Collections)> WhenAllDeliveredAsync(TimeSpan timeout)
        {
            await _done.Task.WaitAsync(timeout);
            var elapsed = Stopwatch.GetElapsedTime(_startTicks);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - _startCpu;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - _startAllocated;
            var collections = string.Join('/', Enumerable.Range(0, 3).Select(g => GC.CollectionCount(g) - _startCollections[g]));
            return (elapsed, cpu, allocated, collections);
        }
    }

    public sealed class AccountOpenedCounter(DeliveryCounter counter) : IConsumer<AccountOpened>
    {
        public Task Consume(ConsumeContext<AccountOpened> context)
        {
            counter.Delivered();
            return Task.CompletedTask;
        }
    }

    public sealed class ReadingBatchCounter(DeliveryCounter counter) : IConsumer<ReadingBatchAccepted>
    {
        public Task Consume(ConsumeContext<ReadingBatchAccepted> context)
        {
            counter.Delivered();
            return Task.CompletedTask;
        }
    }

    /// <summary>A service process reduced to its outbox: the real database wiring, relay and bus, and a counting consumer.</summary>
    public sealed class BenchHost : IAsyncDisposable
    {
        private readonly IHost _host;

        private BenchHost(IHost host) => _host = host;

        public IServiceProvider Services => _host.Services;

        public static async Task<BenchHost> StartAsync(string databaseFile, bool rabbit, int? batchSize, int? maxInFlight, bool reserialize,
            DeliveryCounter counter)
        {
            var connectionString = $"Data Source={databaseFile}";
            await using (var db = new BenchDb(new DbContextOptionsBuilder<BenchDb>().UseSqlite(connectionString).Options))
            {
                await db.Database.EnsureCreatedAsync();
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
            }

            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
            var settings = new Dictionary<string, string?>
            {
                ["ConnectionStrings:Bench"] = connectionString,
                ["Bus:Transport"] = rabbit ? "RabbitMq" : "InMemory",
                ["Outbox:PublishStoredBody"] = reserialize ? "false" : "true",
            };
            if (batchSize is { } size)
                settings["Outbox:BatchSize"] = size.ToString(CultureInfo.InvariantCulture);
            if (maxInFlight is { } inFlight)
                settings["Outbox:MaxInFlight"] = inFlight.ToString(CultureInfo.InvariantCulture);
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Services.AddSingleton(counter);

            var module = new BenchModule();
            module.AddServices(builder);
            builder.AddMeteringBus([module]);
            var host = builder.Build();
            await host.StartAsync();
            return new BenchHost(host);
        }

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }

    public sealed class BenchModule : ServiceModule
    {
        // A queue of its own per run that the broker deletes afterwards, so runs do not see each other's messages.
        private readonly string _queue = $"relay-bench-{Guid.NewGuid():N}";

        public override string Name => "bench";

        public override void AddServices(IHostApplicationBuilder builder) =>
            builder.AddServiceDatabase<BenchDb, BenchDb, BenchDb>("Bench");

        public override void AddConsumers(IBusRegistrationConfigurator bus)
        {
            bus.AddConsumer<AccountOpenedCounter>().Endpoint(e => { e.Name = _queue; e.Temporary = true; });
            bus.AddConsumer<ReadingBatchCounter>().Endpoint(e => { e.Name = _queue; e.Temporary = true; });
        }

        public override void MapEndpoints(IEndpointRouteBuilder endpoints)
        {
        }
    }
}
