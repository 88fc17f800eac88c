using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Grpc.Net.Client;
using Metering.Contracts.Readings.V1;
using Metering.Domain;
using Metering.Hosting;
using Metering.Readings;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

// Usage: dotnet run -c Release --project benchmarks/Metering.Readings.Benchmarks -- [--readings 1000000]
//        [--accounts 100000] [--concurrency 16] [--seconds 20] [--batch 1000] [--keep] [--transport-only]
var options = BenchmarkOptions.Parse(args);
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
const string ApiKey = "dev-operator.operator-dev-secret";
builder.AddMetering(new ReadingsModule());
var app = builder.Build();
app.MapMetering();
await app.StartAsync();

var perAccount = (int)Math.Ceiling(options.Readings / (double)options.Accounts);
Console.WriteLine($"Readings benchmark: {options.Readings:N0} readings for {options.Accounts:N0} accounts ({perAccount} each, " +
                  $"monthly) through StreamReadings; then single readings over JSON with {options.Concurrency} clients for " +
                  $"{options.Seconds} s; SQLite in {dataDirectory}");

// 1. Seed the accounts with their meters and initial readings straight into the database (what AccountOpened would project).
var seeding = Stopwatch.StartNew();
var userNumbers = Seed(databaseFile, options.Accounts);
Console.WriteLine($"Seeded {options.Accounts:N0} accounts in {seeding.Elapsed.TotalSeconds:F1} s");

// 2. Bulk: one stream, rows ordered as a meter-data system sends them (a month's readings of every account, then the next month).
using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
var client = new ReadingsClient(channel);
var start = new DateOnly(2025, 1, 1);
// --transport-only: every row is refused on its malformed user number before any database work, which
// measures the stream itself.
var transportOnly = args.Contains("--transport-only");
var bulkClock = Stopwatch.StartNew();
var bulkCpu = Process.GetCurrentProcess().TotalProcessorTime;
ImportReadingsResponse bulk;
using (var call = client.StreamReadings(new Grpc.Core.Metadata { { "x-api-key", ApiKey } }))
{
    // --batch N: N rows per stream message (the repeated `rows` field); 0 sends one row per message.
    var batch = new ReadingRow();
    var sent = 0;
    for (var month = 1; month <= perAccount && sent < options.Readings; month++)
    {
        var readOn = start.AddMonths(month).AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        for (var a = 0; a < userNumbers.Length && sent < options.Readings; a++, sent++)
        {
            var row = new ReadingRow
            {
                UserNumber = transportOnly ? "x" : userNumbers[a], ReadOn = readOn, RegisterLitres = 9_000L * month + a % 1_000, Kind = ReadingKind.Actual,
            };
            if (options.Batch == 0)
            {
                await call.RequestStream.WriteAsync(row);
                continue;
            }
            batch.Rows.Add(row);
            if (batch.Rows.Count < options.Batch)
                continue;
            await call.RequestStream.WriteAsync(batch);
            batch = new ReadingRow();
        }
    }
    if (batch.Rows.Count > 0)
        await call.RequestStream.WriteAsync(batch);
    await call.RequestStream.CompleteAsync();
    bulk = await call;
}
var bulkElapsed = bulkClock.Elapsed;
// CPU time (host and client together) says more than wall time on a machine that is busy with other work.
bulkCpu = Process.GetCurrentProcess().TotalProcessorTime - bulkCpu;
if (!transportOnly && bulk.Accepted + bulk.Held != options.Readings)
    throw new InvalidOperationException($"bulk load did not accept every row: {bulk.Accepted} accepted, {bulk.Held} held, " +
                                        $"{bulk.Refused} refused; first: {bulk.Results.FirstOrDefault()}");

// 3. Single readings over JSON: every request a new reading of a different account, committed before it is answered.
var http = Enumerable.Range(0, options.Concurrency)
    .Select(_ => new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), DefaultRequestHeaders = { { "x-api-key", ApiKey } } })
    .ToArray();
var nextAccount = -1;
var singleDate = start.AddMonths(perAccount + 1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
if (DateOnly.Parse(singleDate, CultureInfo.InvariantCulture) > DateOnly.FromDateTime(DateTime.UtcNow))
    throw new InvalidOperationException($"--readings/--accounts give {perAccount} months: the single readings would be in the future");
async Task<bool> RecordOne(int worker, int sequence)
{
    var account = Interlocked.Increment(ref nextAccount);
    if (account >= userNumbers.Length)
        throw new InvalidOperationException("ran out of accounts: give more --accounts");
    using var response = await http[worker].PostAsJsonAsync($"/v1/accounts/{userNumbers[account]}/readings",
        new { readOn = singleDate, registerLitres = 9_000L * (perAccount + 1) + 500 });
    response.EnsureSuccessStatusCode();
    return true;
}
// A short warm-up, not measured: the JSON path's first requests compile code (JIT) that the bulk phase did not use.
await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(Math.Min(2, options.Seconds)), RecordOne);
var single = await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(options.Seconds), RecordOne);

Console.WriteLine();
Console.WriteLine($"| operation | rows/requests | errors | per second | p50 ms | p95 ms | p99 ms |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| StreamReadings ({options.Readings:N0} rows, one stream, {(options.Batch == 0 ? "one row" : $"{options.Batch:N0} rows")} per message) | {bulk.Rows:N0} | {bulk.Refused:N0} | {bulk.Rows / bulkElapsed.TotalSeconds:N0} | – | – | – |"));
Console.WriteLine(single.Row($"RecordReading over JSON ({options.Concurrency} clients)"));
using (var self = Process.GetCurrentProcess())
    Console.WriteLine($"\nBulk: {bulkElapsed.TotalSeconds:F1} s end to end, {bulkCpu.TotalSeconds:F1} s CPU " +
                      $"({bulkCpu.TotalMilliseconds * 1000 / options.Readings:F0} µs CPU per reading). Peak working set (host and load generator in one process): " +
                      $"{self.PeakWorkingSet64 / (1024 * 1024):N0} MiB");
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");

foreach (var h in http)
    h.Dispose();
await app.StopAsync();
SqliteConnection.ClearAllPools();
if (!options.Keep)
    Directory.Delete(dataDirectory, recursive: true);
return 0;

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
        numbers[i] = UserNumber.FromBody(100_000_000 + i).Value;
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

internal sealed record BenchmarkOptions(int Readings, int Accounts, int Concurrency, int Seconds, bool Keep, int Batch)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        int Int(string name, int fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new BenchmarkOptions(Int("--readings", 1_000_000), Int("--accounts", 100_000), Int("--concurrency", 16),
            Int("--seconds", 20), args.Contains("--keep"), Int("--batch", 1_000));
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
