using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Metering.Billing;
using Metering.Contracts.Billing.V1;
using Metering.Domain;
using Metering.Hosting;
using Metering.Payments;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using BillingClient = Metering.Contracts.Billing.V1.Billing.BillingClient;

// Usage: dotnet run -c Release --project benchmarks/Metering.Billing.Benchmarks -- [--accounts 1000000]
//        [--chunk 5000] [--batch 500] [--lookups 2000] [--concurrency 8] [--keep] [--no-ledger]
var options = BenchmarkOptions.Parse(args);
var dataDirectory = Path.Combine(Path.GetTempPath(), "metering-billing-bench", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(dataDirectory);
var databaseFile = Path.Combine(dataDirectory, "billing.db");
var paymentsFile = Path.Combine(dataDirectory, "payments.db");
// The well-known development operator key (Security:DevelopmentKeys=true below).
const string ApiKey = "dev-operator.operator-dev-secret";
var grpcPort = FreePort();
var httpPort = FreePort();

// Development: the one environment (besides the standalone host's two modules) that allows the development keys.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Database:Provider"] = "Sqlite",
    ["ConnectionStrings:Billing"] = $"Data Source={databaseFile}",
    ["ConnectionStrings:Payments"] = $"Data Source={paymentsFile}",
    ["Security:DevelopmentKeys"] = "true",
    ["Bus:Transport"] = "InMemory",
    ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{grpcPort}",
    ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
    ["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{httpPort}",
    ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
    ["Logging:LogLevel:Default"] = "Warning",
    // One line per chunk with where its time went (paging vs batches): the profile of a run.
    ["Logging:LogLevel:Metering.Billing.Events.BillingRunProcessor"] = "Information",
    ["Grpc:EnableReflection"] = "false",
    ["Billing:RunChunkSize"] = options.Chunk.ToString(CultureInfo.InvariantCulture),
    ["Billing:RunBatchSize"] = options.Batch.ToString(CultureInfo.InvariantCulture),
    ["Billing:ProgressIntervalMilliseconds"] = "200",
});
// Billing and Payments in one host, as the standalone host runs them: BillIssued goes over the in-memory bus.
// --no-ledger: Billing alone (the run and the outbox only).
builder.AddMetering(options.Ledger ? new ServiceModule[] { new BillingModule(), new PaymentsModule() } : [new BillingModule()]);
var app = builder.Build();
app.MapMetering();
await app.StartAsync();

Console.WriteLine($"Billing benchmark: {options.Accounts:N0} accounts with one unbilled reading each (30–330 m³), " +
                  $"chunks of {options.Chunk}, batches of {options.Batch}; SQLite in {dataDirectory}; " +
                  $"{Environment.ProcessorCount} cores");

var seeding = Stopwatch.StartNew();
var userNumbers = Seed(databaseFile, options.Accounts);
if (options.Ledger)
    SeedLedger(paymentsFile, userNumbers);
Console.WriteLine($"Seeded {options.Accounts:N0} accounts in {seeding.Elapsed.TotalSeconds:F1} s");

using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions
{
    HttpClient = new HttpClient { DefaultRequestHeaders = { { "x-api-key", ApiKey } } },
    DisposeHttpClient = true,
});
var client = new BillingClient(channel);
var rows = new List<string>();

var trial = await RunAsync(client, trial: true);
rows.Add(Row("trial run", trial.Run.AccountsBilled, trial.Elapsed, $"{trial.Run.TotalFen / 100m:N2} CNY, {Cpu(trial)}"));
var real = await RunAsync(client, trial: false);
rows.Add(Row("billing run", real.Run.AccountsBilled, real.Elapsed, $"{real.Run.TotalFen / 100m:N2} CNY, {Cpu(real)}"));
if (trial.Run.TotalFen != real.Run.TotalFen || trial.Run.AccountsBilled != real.Run.AccountsBilled)
    Console.WriteLine($"WARNING: the trial ({trial.Run.AccountsBilled}, {trial.Run.TotalFen}) and the run ({real.Run.AccountsBilled}, {real.Run.TotalFen}) differ");

// BillIssued leaves through the outbox: the run's bills are out when the outbox is empty.
var published = Stopwatch.StartNew();
while (PendingOutbox(databaseFile) > 0)
    await Task.Delay(100);
var outboxDrain = real.Elapsed + published.Elapsed;
rows.Add(Row("run + BillIssued published", real.Run.AccountsBilled, outboxDrain, $"{BatchCount(databaseFile):N0} messages"));
// …and reach Payments' ledger when the last bill is a receivable there.
if (options.Ledger)
{
    while (Scalar(paymentsFile, "SELECT COUNT(*) FROM Receivables") < real.Run.BillsIssued)
        await Task.Delay(100);
    var ledger = real.Elapsed + published.Elapsed;
    rows.Add(Row("run + bills in Payments' ledger", real.Run.AccountsBilled, ledger, "Receivables rows"));
}

var lookups = await LookupsAsync(client, userNumbers, options);
rows.Add(lookups);

using var self = Process.GetCurrentProcess();
self.Refresh();
Console.WriteLine();
Console.WriteLine("| step | accounts | seconds | accounts/s | p50 ms | p95 ms | p99 ms | note |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|");
rows.ForEach(Console.WriteLine);
Console.WriteLine();
Console.WriteLine($"Peak working set: {self.PeakWorkingSet64 / (1024.0 * 1024):N0} MiB (whole process: host, database cache, client)");

await app.StopAsync();
if (!options.Keep)
{
    SqliteConnection.ClearAllPools();
    Directory.Delete(dataDirectory, recursive: true);
}

static string Row(string step, int accounts, TimeSpan elapsed, string note) =>
    $"| {step} | {accounts:N0} | {elapsed.TotalSeconds:F1} | {accounts / elapsed.TotalSeconds:N0} | | | | {note} |";

// CPU time of the whole process during a step, and accounts per CPU second: on a shared, loaded machine the
// wall time says little, the CPU time is what the step costs.
static string Cpu((BillingRun Run, TimeSpan Elapsed, TimeSpan Cpu) step) =>
    $"CPU {step.Cpu.TotalSeconds:F1} s = {step.Run.AccountsBilled / step.Cpu.TotalSeconds:N0} accounts per CPU second";

static async Task<(BillingRun Run, TimeSpan Elapsed, TimeSpan Cpu)> RunAsync(BillingClient client, bool trial)
{
    using var process = Process.GetCurrentProcess();
    var cpuBefore = process.TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var started = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31", Trial = trial });
    BillingRun last = started;
    using var watch = client.WatchBillingRun(new GetBillingRunRequest { RunId = started.RunId });
    await foreach (var progress in watch.ResponseStream.ReadAllAsync())
    {
        last = progress;
        Console.Write($"\r{(trial ? "trial" : "run")}: {progress.AccountsBilled:N0}/{progress.AccountsTotal:N0} accounts, " +
                      $"{progress.ChunksDone}/{progress.ChunksTotal} chunks, {progress.TotalFen / 100m:N2} CNY   ");
    }
    Console.WriteLine();
    if (last.Status != BillingRunStatus.Completed)
        throw new InvalidOperationException($"the run ended {last.Status}: {last.FailureReason}");
    process.Refresh();
    return (last, clock.Elapsed, process.TotalProcessorTime - cpuBefore);
}

static async Task<string> LookupsAsync(BillingClient client, IReadOnlyList<string> userNumbers, BenchmarkOptions options)
{
    var latencies = new double[options.Lookups];
    var next = -1;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(async _ =>
    {
        var random = new Random();
        int i;
        while ((i = Interlocked.Increment(ref next)) < options.Lookups)
        {
            var call = Stopwatch.StartNew();
            await client.ListBillsAsync(new ListBillsRequest { UserNumber = userNumbers[random.Next(userNumbers.Count)] });
            latencies[i] = call.Elapsed.TotalMilliseconds;
        }
    }));
    Array.Sort(latencies);
    double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
    return $"| ListBills ({options.Concurrency} clients) | {options.Lookups:N0} calls | {clock.Elapsed.TotalSeconds:F1} | " +
           $"{options.Lookups / clock.Elapsed.TotalSeconds:N0} calls/s | {P(0.50):F1} | {P(0.95):F1} | {P(0.99):F1} | |";
}

// Accounts and their unbilled consumption straight into the database: what AccountOpened and ReadingAccepted project.
static List<string> Seed(string databaseFile, int accounts)
{
    var userNumbers = new List<string>(accounts);
    using var connection = new SqliteConnection($"Data Source={databaseFile}");
    connection.Open();
    using var transaction = connection.BeginTransaction();
    using var command = connection.CreateCommand();
    command.CommandText = """
        INSERT INTO Accounts (UserNumber, Persons, OpenedOn, InitialRegisterLitres, ReceivedAt)
        VALUES ($user, 3, '2026-01-01', 0, '2026-01-01 00:00:00');
        INSERT INTO HouseholdSizes (UserNumber, EffectiveOn, Persons) VALUES ($user, '2026-01-01', 3);
        INSERT INTO Consumptions (ReadingId, UserNumber, PreviousReadOn, PreviousRegisterLitres, ReadOn, RegisterLitres,
            ConsumptionLitres, Kind, ReceivedAt)
        VALUES ($reading, $user, '2026-01-01', 0, '2026-03-31', $litres, $litres, 'actual', '2026-04-01 00:00:00');
        """;
    var user = command.Parameters.Add("$user", SqliteType.Text);
    var reading = command.Parameters.Add("$reading", SqliteType.Text);
    var litres = command.Parameters.Add("$litres", SqliteType.Integer);
    var random = new Random(42);
    for (var i = 0; i < accounts; i++)
    {
        var number = UserNumber.FromBody(100_000_000 + i).Value;
        userNumbers.Add(number);
        user.Value = number;
        reading.Value = Guid.NewGuid().ToString().ToUpperInvariant();
        litres.Value = random.Next(30_000, 330_000);
        command.ExecuteNonQuery();
    }
    transaction.Commit();
    return userNumbers;
}

// Payments' ledger accounts, as AccountOpened would have created them.
static void SeedLedger(string paymentsFile, List<string> userNumbers)
{
    using var connection = new SqliteConnection($"Data Source={paymentsFile}");
    connection.Open();
    using var transaction = connection.BeginTransaction();
    using var command = connection.CreateCommand();
    command.CommandText = """
        INSERT INTO LedgerAccounts (UserNumber, HolderName, Address, OpenedOn, CreditFen, Version, CreatedAt)
        VALUES ($user, 'Benchmark', 'Liaocheng', '2026-01-01', 0, 0, '2026-01-01 00:00:00')
        """;
    var user = command.Parameters.Add("$user", SqliteType.Text);
    foreach (var number in userNumbers)
    {
        user.Value = number;
        command.ExecuteNonQuery();
    }
    transaction.Commit();
}

static long PendingOutbox(string databaseFile) => Scalar(databaseFile, "SELECT COUNT(*) FROM OutboxMessages WHERE SentAt IS NULL");

static long BatchCount(string databaseFile) =>
    Scalar(databaseFile, "SELECT COUNT(*) FROM OutboxMessages WHERE MessageType LIKE 'Metering.Contracts.Events.BillIssued%'");

static long Scalar(string databaseFile, string sql)
{
    using var connection = new SqliteConnection($"Data Source={databaseFile}");
    connection.Open();
    using var command = connection.CreateCommand();
    command.CommandText = sql;
    return (long)command.ExecuteScalar()!;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed record BenchmarkOptions(int Accounts, int Chunk, int Batch, int Lookups, int Concurrency, bool Keep, bool Ledger)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        int Value(string name, int fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new BenchmarkOptions(Value("--accounts", 10_000), Value("--chunk", 5_000), Value("--batch", 500),
            Value("--lookups", 2_000), Value("--concurrency", 8), args.Contains("--keep"), !args.Contains("--no-ledger"));
    }
}
