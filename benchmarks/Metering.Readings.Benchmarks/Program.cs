using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Metering.Hosting;
using Metering.Readings;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;

// Usage: dotnet run -c Release --project benchmarks/Metering.Readings.Benchmarks -- [--readings 1000000]
//        [--accounts 100000] [--concurrency 16] [--seconds 20] [--warmup 15] [--bulk-warmup 200000] [--batch 1000] [--keep]
//        [--transport-only] [--in-process] [--alloc-types]
// The load generator runs as a child process (this program with --generator) so that the host's CPU per reading is
// measured apart from the client's; --in-process runs it inside the host's process as earlier rounds did.
var options = BenchmarkOptions.Parse(args);
if (args.Contains("--generator"))
    return await LoadGenerator.RunChildAsync(options, args);

var dataDirectory = Path.Combine(Path.GetTempPath(), "metering-readings-bench", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(dataDirectory);
var databaseFile = Path.Combine(dataDirectory, "readings.db");
var grpcPort = FreePort();
var httpPort = FreePort();

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Benchmark" });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Database:Provider"] = "Sqlite",
    ["ConnectionStrings:Readings"] = $"Data Source={databaseFile}",
    ["Bus:Transport"] = "InMemory",
    ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{grpcPort}",
    ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
    ["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{httpPort}",
    ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
    ["Logging:LogLevel:Default"] = "Warning",
    ["Grpc:EnableReflection"] = "false",
    // The well-known development keys; every call below carries the operator's.
    ["Security:DevelopmentKeys"] = "true",
    ["Security:ChannelRateLimit:PermitsPerSecond"] = "1000000",
});
builder.AddMetering(new ReadingsModule());
var app = builder.Build();
app.MapMetering();
await app.StartAsync();

var perAccount = LoadGenerator.MonthsPerAccount(options.Readings, options.Accounts);
Console.WriteLine($"Readings benchmark: {options.Readings:N0} readings for {options.Accounts:N0} accounts ({perAccount} each, " +
                  $"monthly) through StreamReadings; then single readings over JSON with {options.Concurrency} clients for " +
                  $"{options.Seconds} s; SQLite in {dataDirectory}; load generator {(options.InProcess ? "in the host's process" : "in a separate process")}");

// 1. Seed the accounts with their meters and initial readings straight into the database (what AccountOpened would project).
var seeding = Stopwatch.StartNew();
var warmUpAccounts = LoadGenerator.WarmUpAccounts(options);
Seed(databaseFile, options.Accounts + warmUpAccounts);
Console.WriteLine($"Seeded {options.Accounts:N0} accounts{(warmUpAccounts > 0 ? $" and {warmUpAccounts:N0} for a warm-up stream of {options.BulkWarmUp:N0} readings" : "")} in {seeding.Elapsed.TotalSeconds:F1} s");

// 2.–4. The load generator: the bulk stream, single readings while the relay still publishes the bulk load's
// events, then (after the relay has drained) single readings again. The host's CPU is taken around the bulk phase.
var hostCpuAtBulkStart = TimeSpan.Zero;
var hostCpuOfBulk = TimeSpan.Zero;
// Where the host's CPU went: the chunks' own threads measuring and writing (BulkIngestor's metrics), and the JIT.
var bulkThreadCpu = new BulkThreadCpu();
var jitAtBulkStart = TimeSpan.Zero;
var jitOfBulk = TimeSpan.Zero;
var jitMethodsAtBulkStart = 0L;
var jitMethodsOfBulk = 0L;
using var allocationSampler = args.Contains("--alloc-types") ? new AllocationSampler() : null;
var allocatedAtBulkStart = 0L;
var allocatedOfBulk = 0L;
var gcAtBulkStart = (Gen0: 0, Gen1: 0, Gen2: 0, Pause: TimeSpan.Zero);
var gcOfBulk = gcAtBulkStart;
Task<TimeSpan>? drain = null;
var singleCpuAtStart = TimeSpan.Zero;
var singleCpu = new List<TimeSpan>();
var singleJitAtStart = (Methods: 0L, Time: TimeSpan.Zero, GcPause: TimeSpan.Zero);
var singleJit = new List<(long Methods, TimeSpan Time, TimeSpan GcPause)>();
var phases = new HostPhases(
    BulkStarting: () =>
    {
        bulkThreadCpu.Start();
        jitAtBulkStart = System.Runtime.JitInfo.GetCompilationTime();
        jitMethodsAtBulkStart = System.Runtime.JitInfo.GetCompiledMethodCount();
        allocatedAtBulkStart = GC.GetTotalAllocatedBytes();
        allocationSampler?.Start();
        gcAtBulkStart = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
        hostCpuAtBulkStart = ProcessCpu();
    },
    BulkDone: () =>
    {
        hostCpuOfBulk = ProcessCpu() - hostCpuAtBulkStart;
        jitOfBulk = System.Runtime.JitInfo.GetCompilationTime() - jitAtBulkStart;
        jitMethodsOfBulk = System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethodsAtBulkStart;
        allocatedOfBulk = GC.GetTotalAllocatedBytes() - allocatedAtBulkStart;
        allocationSampler?.Stop();
        gcOfBulk = (GC.CollectionCount(0) - gcAtBulkStart.Gen0, GC.CollectionCount(1) - gcAtBulkStart.Gen1,
            GC.CollectionCount(2) - gcAtBulkStart.Gen2, GC.GetTotalPauseDuration() - gcAtBulkStart.Pause);
        bulkThreadCpu.Stop();
        // The relay's drain is timed from the bulk load's answer, alongside the first single-reading phase.
        drain = WaitForRelayAsync(databaseFile);
    },
    WaitForRelay: () => drain ?? WaitForRelayAsync(databaseFile),
    SinglePhase: starting =>
    {
        var jit = (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime(), GC.GetTotalPauseDuration());
        if (starting)
        {
            singleCpuAtStart = ProcessCpu();
            singleJitAtStart = jit;
        }
        else
        {
            singleCpu.Add(ProcessCpu() - singleCpuAtStart);
            singleJit.Add((jit.Item1 - singleJitAtStart.Methods, jit.Item2 - singleJitAtStart.Time, jit.Item3 - singleJitAtStart.GcPause));
        }
    });
GeneratorReport report;
if (options.InProcess)
    report = await new LoadGenerator(options, grpcPort, httpPort).RunAsync(phases);
else
    report = await LoadGenerator.RunChildProcessAsync(args, grpcPort, httpPort, phases);

Console.WriteLine();
Console.WriteLine($"| operation | rows/requests | errors | per second | p50 ms | p95 ms | p99 ms |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| StreamReadings ({options.Readings:N0} rows, one stream, {(options.Batch == 0 ? "one row" : $"{options.Batch:N0} rows")} per message) | {report.BulkRows:N0} | {report.BulkRefused:N0} | {report.BulkRows / report.BulkSeconds:N0} | – | – | – |"));
Console.WriteLine(report.SingleWhileRelaying);
Console.WriteLine(report.SingleAfterRelay);
var perReading = 1_000_000.0 / options.Readings;
var hostPerReading = hostCpuOfBulk.TotalSeconds * perReading;
var cpuSplit = options.InProcess
    ? string.Create(CultureInfo.InvariantCulture, $"(host and load generator in one process: {hostPerReading:F0} µs CPU per reading)")
    : string.Create(CultureInfo.InvariantCulture,
        $"= host {hostCpuOfBulk.TotalSeconds:F1} s ({hostPerReading:F0} µs per reading) + load generator {report.GeneratorCpuSeconds:F1} s ({report.GeneratorCpuSeconds * perReading:F0} µs per reading)");
var totalCpu = hostCpuOfBulk.TotalSeconds + (options.InProcess ? 0 : report.GeneratorCpuSeconds);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nBulk: {report.BulkSeconds:F1} s end to end; CPU {totalCpu:F1} s {cpuSplit}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Bulk, host: chunks measured {bulkThreadCpu.MeasureSeconds * perReading:F1} µs + written {bulkThreadCpu.WriteSeconds * perReading:F1} µs thread CPU per reading; JIT {jitOfBulk.TotalSeconds:F1} s ({jitOfBulk.TotalSeconds * perReading:F1} µs per reading, {jitMethodsOfBulk:N0} methods); " +
    $"GCs {gcOfBulk.Gen0}/{gcOfBulk.Gen1}/{gcOfBulk.Gen2} (gen 0/1/2), paused {gcOfBulk.Pause.TotalSeconds:F2} s; allocated {allocatedOfBulk * perReading / 1_000_000.0:N0} bytes per reading"));
if (allocationSampler is not null)
{
    Console.WriteLine("Bulk, host: allocations by type (sampled every ~100 KB):");
    foreach (var line in allocationSampler.Top(25, options.Readings))
        Console.WriteLine(line);
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Single readings: {(options.InProcess ? "CPU (host and load generator)" : "host CPU")} per request {PerRequest(singleCpu[0], report.RequestsWhileRelaying)} while the relay published, " +
    $"{PerRequest(singleCpu[1], report.RequestsAfterRelay)} after"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Single readings, after a warm-up of {options.WarmUpSeconds} s: the host's JIT compiled {singleJit[0].Methods:N0} methods ({singleJit[0].Time.TotalMilliseconds:N0} ms) " +
    $"and the GC paused {singleJit[0].GcPause.TotalMilliseconds:N0} ms while the relay published; {singleJit[1].Methods:N0} methods ({singleJit[1].Time.TotalMilliseconds:N0} ms), " +
    $"GC {singleJit[1].GcPause.TotalMilliseconds:N0} ms after"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Relay: {report.RelayDrainSeconds:F1} s after the bulk load's last answer until every event of it was published"));
using (var self = Process.GetCurrentProcess())
    Console.WriteLine($"Peak working set of the host{(options.InProcess ? " and load generator" : "")}: {self.PeakWorkingSet64 / (1024 * 1024):N0} MiB");
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");

await app.StopAsync();
SqliteConnection.ClearAllPools();
if (!options.Keep)
    Directory.Delete(dataDirectory, recursive: true);
return 0;

static string PerRequest(TimeSpan cpu, long requests) =>
    requests == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{cpu.TotalMilliseconds / requests:F2} ms");

static TimeSpan ProcessCpu()
{
    using var self = Process.GetCurrentProcess();
    return self.TotalProcessorTime;
}

/// <summary>Until the outbox relay has published every event written so far (it runs in the host, behind the bulk load).</summary>
static async Task<TimeSpan> WaitForRelayAsync(string databaseFile)
{
    var clock = Stopwatch.StartNew();
    await using var connection = new SqliteConnection($"Data Source={databaseFile};Mode=ReadOnly");
    connection.Open();
    await using var pending = connection.CreateCommand();
    pending.CommandText = """SELECT COUNT(*) FROM "OutboxMessages" WHERE "SentAt" IS NULL""";
    while (Convert.ToInt64(await pending.ExecuteScalarAsync(), CultureInfo.InvariantCulture) > 0)
        await Task.Delay(100);
    return clock.Elapsed;
}

static string[] Seed(string databaseFile, int accounts)
{
    var numbers = new string[accounts];
    using var connection = new SqliteConnection($"Data Source={databaseFile}");
    connection.Open();
    using var transaction = connection.BeginTransaction();
    using var account = connection.CreateCommand();
    account.Transaction = transaction;
    account.CommandText = """
        INSERT INTO Accounts (Id, UserNumber, Status, OpenedOn, CreatedAt, LastReadingSequence, ClosedOn)
        VALUES ($id, $number, 'Open', '2025-01-01', '2025-01-01 00:00:00', 1, NULL);
        INSERT INTO Meters (Id, AccountId, Serial, CapacityLitres, InitialRegisterLitres, InstalledOn, RemovedOn)
        VALUES ($id, $id, 'M-' || $number, 100000000, 0, '2025-01-01', NULL);
        INSERT INTO Readings (Id, AccountId, MeterId, Sequence, ReadOn, RegisterLitres, Kind, Status, ConsumptionLitres,
                              PreviousReadOn, PreviousRegisterLitres, RecordedAt, HoldReason, ReleasedAt, CorrectedAt)
        VALUES ($reading, $id, $id, 1, '2025-01-01', 0, 'Initial', 'Accepted', 0, NULL, NULL, '2025-01-01 00:00:00', NULL, NULL, NULL);
        """;
    var id = account.Parameters.Add("$id", SqliteType.Integer);
    var number = account.Parameters.Add("$number", SqliteType.Text);
    var reading = account.Parameters.Add("$reading", SqliteType.Text);
    for (var i = 0; i < accounts; i++)
    {
        numbers[i] = LoadGenerator.UserNumberOf(i);
        id.Value = i + 1;
        number.Value = numbers[i];
        // EF Core stores a Guid on SQLite as upper-case text.
        reading.Value = Guid.CreateVersion7().ToString().ToUpperInvariant();
        account.ExecuteNonQuery();
    }
    transaction.Commit();
    return numbers;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed record BenchmarkOptions(int Readings, int Accounts, int Concurrency, int Seconds, bool Keep, int Batch, bool InProcess,
    bool TransportOnly, int WarmUpSeconds, int BulkWarmUp)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        int Int(string name, int fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new BenchmarkOptions(Int("--readings", 1_000_000), Int("--accounts", 100_000), Int("--concurrency", 16),
            Int("--seconds", 20), args.Contains("--keep"), Int("--batch", 1_000), args.Contains("--in-process"),
            args.Contains("--transport-only"), Int("--warmup", 15), Int("--bulk-warmup", 200_000));
    }
}

internal sealed record Measurement(long Requests, long Errors, TimeSpan Elapsed, double[] SortedMilliseconds, string? FirstError)
{
    private double Percentile(double p) => SortedMilliseconds.Length == 0
        ? double.NaN
        : SortedMilliseconds[Math.Min(SortedMilliseconds.Length - 1, (int)Math.Ceiling(p * SortedMilliseconds.Length) - 1)];

    public string Row(string name) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {Requests:N0} | {Errors:N0} | {Requests / Elapsed.TotalSeconds:N0} | {Percentile(0.50):F2} | {Percentile(0.95):F2} | {Percentile(0.99):F2} |")
        + (FirstError is null ? "" : $"\n\nfirst error of {name}: {FirstError}");
}

internal static class Measure
{
    /// <summary>Closed loop: <paramref name="workers"/> clients each send the next request as soon as the last one is answered.</summary>
    public static async Task<Measurement> RunAsync<T>(int workers, TimeSpan duration, Func<int, int, Task<T>> call)
    {
        var latencies = new List<double>[workers];
        long errors = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            var mine = latencies[worker] = new List<double>(100_000);
            for (var sequence = 0; clock.Elapsed < duration; sequence++)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await call(worker, sequence);
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, ex.Message, null);
                }
            }
        })));
        var elapsed = clock.Elapsed;
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new Measurement(all.Length, errors, elapsed, all, firstError);
    }
}

/// <summary>Sums the bulk chunks' thread CPU (BulkIngestor's metrics) between Start and Stop.</summary>
internal sealed class BulkThreadCpu : IDisposable
{
    private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
    private double _measure;
    private double _write;
    private volatile bool _on;

    public BulkThreadCpu()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == Metering.Readings.Data.BulkIngestor.Metrics.Name)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (!_on)
                return;
            if (instrument.Name.EndsWith("measure_cpu", StringComparison.Ordinal))
                Add(ref _measure, value);
            else
                Add(ref _write, value);
        });
        _listener.Start();
    }

    public double MeasureSeconds => Volatile.Read(ref _measure);
    public double WriteSeconds => Volatile.Read(ref _write);

    public void Start() => _on = true;
    public void Stop() => _on = false;

    public void Dispose() => _listener.Dispose();

    private static void Add(ref double total, double value)
    {
        double seen, next;
        do
        {
            seen = Volatile.Read(ref total);
            next = seen + value;
        } while (Interlocked.CompareExchange(ref total, next, seen) != seen);
    }
}
