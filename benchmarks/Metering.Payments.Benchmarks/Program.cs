using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using MassTransit;
using Metering.Contracts.Events;
using Metering.Contracts.Payments.V1;
using Metering.Domain;
using Metering.Hosting;
using Metering.Payments;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PaymentsClient = Metering.Contracts.Payments.V1.Payments.PaymentsClient;

// Usage: dotnet run -c Release --project benchmarks/Metering.Payments.Benchmarks -- [--accounts 1000000]
//        [--concurrency 64] [--seconds 20] [--connections 4] [--bills 200000] [--keep]
//        [--h2load [--h2load-processes 8] [--h2load-one-account]] [--client-process [--open-rates 1000,1200] [--open-only]] [--no-in-process]
//        [--bills-warmup 20000] [--warmup 15] [--set Section:Key=value ...]
// With --fsync-probe [count] the program only times the disk's fsync (4 KiB appended, then fsync), as a commit waits for it. (host settings, e.g. --set Database:Checkpoints:Interval=00:00:00.5)
// With --client <port> the program is the load client that --client-process starts as a child.
if (args.Contains("--client"))
    return await LoadClient.RunAsync(args);
if (args.Contains("--fsync-probe"))
    return FsyncProbe.Run(args);
var options = BenchmarkOptions.Parse(args);
var dataDirectory = Path.Combine(Path.GetTempPath(), "metering-payments-bench", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(dataDirectory);
var databaseFile = Path.Combine(dataDirectory, "payments.db");
var port = FreePort();

// Development: the only environment of a single-service host where issue 8 allows the public development keys.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
// ...without Development's DI scope checks on every resolution, which production does not pay for.
builder.Host.UseDefaultServiceProvider(o => { o.ValidateScopes = false; o.ValidateOnBuild = false; });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Database:Provider"] = "Sqlite",
    ["ConnectionStrings:Payments"] = $"Data Source={databaseFile}",
    ["Bus:Transport"] = "InMemory",
    ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{port}",
    ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
    ["Logging:LogLevel:Default"] = "Warning",
    ["Grpc:EnableReflection"] = "false",
    // Issue 8's contract: the well-known development keys, and no rate limit getting in the way of the load.
    ["Security:DevelopmentKeys"] = "true",
    ["Security:ChannelRateLimit:PermitsPerSecond"] = "1000000",
});
// Settings to compare (checkpoint interval, Payments:PreparedBills, ...), last so that they win.
builder.Configuration.AddInMemoryCollection(options.Settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
builder.AddMetering(new PaymentsModule());
HostWatch.Start();
var app = builder.Build();
app.MapMetering();
await app.StartAsync();

Console.WriteLine($"Payments benchmark: {options.Accounts:N0} accounts, {options.Concurrency} concurrent gRPC clients over " +
                  $"{options.Connections} HTTP/2 connections, {options.Seconds} s per phase; SQLite in {dataDirectory}" +
                  string.Concat(options.Settings.Select(s => $"; {s.Key}={s.Value}")));

// 1. Seed the ledger straight into the database (one bill per account): the benchmark measures the channels' calls, not seeding.
var seeding = Stopwatch.StartNew();
var userNumbers = Seed(databaseFile, options.Accounts);
Console.WriteLine($"Seeded {options.Accounts:N0} accounts and bills in {seeding.Elapsed.TotalSeconds:F1} s ({Pragmas(databaseFile)})");

var channels = Enumerable.Range(0, options.Connections).Select(_ => GrpcChannel.ForAddress($"http://127.0.0.1:{port}",
    new GrpcChannelOptions
    {
        HttpHandler = new ApiKeyHandler("dev-wechat.wechat-dev-secret")
        {
            InnerHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        },
    })).ToArray();
var clients = channels.Select(c => new PaymentsClient(c)).ToArray();

// A check that the seeded rows read back as the service writes them.
var probe = await clients[0].GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumbers[0] });
if (probe.OutstandingFen != BillFen || probe.UnpaidBills.Count != 1)
    throw new InvalidOperationException($"seeded account reads back wrong: {probe}");

// 2. Warm-up, then the balance query at full concurrency, from clients in this process (host and load generator share the CPU).
await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(2), (worker, _) =>
    clients[worker % clients.Length].GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumbers[Random.Shared.Next(userNumbers.Length)] }).ResponseAsync);
var balance = options.InProcess
    ? await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(options.Seconds), (worker, _) =>
        clients[worker % clients.Length].GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumbers[Random.Shared.Next(userNumbers.Length)] }).ResponseAsync)
    : null;

// 2b. Optional: the same query driven by h2load (nghttp2-client) from processes of their own, so that the CPU
// measured here is the host's alone.
var h2load = options.H2Load ? await H2Load.RunAsync(port, userNumbers, options) : null;

// 2c. Optional: the load client in a child process (random accounts, percentiles, the host's CPU apart).
var separate = new List<(string Name, Measurement Client, HostShare Host)>();
if (options.ClientProcess && !options.OpenOnly)
{
    var run = await LoadClient.DriveAsync(port, "balance", 0, options, "balance");
    separate.Add(("GetBalance, closed loop", run.Client, run.Host));
}

// 3. Payment posting: every request a new transaction of a random account, committed before it is answered.
var paidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1));
var posting = options.InProcess
    ? await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(options.Seconds), (worker, sequence) =>
        clients[worker % clients.Length].PostPaymentAsync(new PostPaymentRequest
        {
            UserNumber = userNumbers[Random.Shared.Next(userNumbers.Length)],
            Channel = "wechat",
            ChannelTransactionId = $"bench-{worker}-{sequence}",
            AmountFen = 1_000,
            PaidAt = paidAt,
        }).ResponseAsync)
    : null;
if (options.ClientProcess)
{
    if (!options.OpenOnly)
    {
        var closed = await LoadClient.DriveAsync(port, "post", 0, options, "closed");
        separate.Add(("PostPayment (new), closed loop", closed.Client, closed.Host));
    }
    foreach (var rate in options.OpenRates)
    {
        var open = await LoadClient.DriveAsync(port, "post", rate, options, $"open{rate}");
        separate.Add(($"PostPayment (new), open loop at {rate:N0}/s", open.Client, open.Host));
    }
}

// 4. The same notification resent: answered from the stored result.
var repeated = new PostPaymentRequest
{
    UserNumber = userNumbers[0], Channel = "wechat", ChannelTransactionId = "bench-repeat", AmountFen = 1_000, PaidAt = paidAt,
};
await clients[0].PostPaymentAsync(repeated);
var replay = options.InProcess
    ? await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(Math.Max(2, options.Seconds / 2)), (worker, sequence) =>
        clients[worker % clients.Length].PostPaymentAsync(repeated).ResponseAsync)
    : null;

// 5. Billing's runs reaching the ledger: BillIssued messages of 500 bills each through the bus and the real consumer.
var bus = app.Services.GetRequiredService<IBus>();
var billAccounts = Math.Min(options.Bills, userNumbers.Length);
// Warm-up: the bus, the consumer and SQLite's statements past the JIT's tiers. Measured cold, a 200 000-bill step spent
// about half its CPU compiling (DOTNET_TieredCompilation=0 halved it); a service filing runs of a million bills does
// that once. The warm-up bills are of a quarter of their own (0), on the first accounts.
var warmUp = Math.Max(1, options.BillsWarmUp);
var warmUpCpu = Process.GetCurrentProcess().TotalProcessorTime;
var warmUpClock = Stopwatch.StartNew();
for (var first = 0; first < warmUp; first += BillsPerMessage)
{
    var bills = Enumerable.Range(first, Math.Min(BillsPerMessage, warmUp - first))
        .Select(i => NewBill(userNumbers[i % userNumbers.Length], 0)).ToList();
    await bus.Publish(new BillIssued(Guid.NewGuid(), bills, DateTimeOffset.UtcNow));
}
await WaitForReceivables(databaseFile, options.Accounts + warmUp, TimeSpan.FromMinutes(5));
var warmUpElapsed = warmUpClock.Elapsed;
var warmUpCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - warmUpCpu).TotalMilliseconds;
var billsCpu = Process.GetCurrentProcess().TotalProcessorTime;
var billsClock = Stopwatch.StartNew();
for (var first = 0; first < options.Bills; first += BillsPerMessage)
{
    var bills = Enumerable.Range(first, Math.Min(BillsPerMessage, options.Bills - first))
        .Select(i => NewBill(userNumbers[i % billAccounts], 1 + i / billAccounts)).ToList();
    await bus.Publish(new BillIssued(Guid.NewGuid(), bills, DateTimeOffset.UtcNow));
}
await WaitForReceivables(databaseFile, options.Accounts + warmUp + options.Bills, TimeSpan.FromMinutes(10));
var billsElapsed = billsClock.Elapsed;
var billsCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - billsCpu).TotalMilliseconds;

if (balance is not null && posting is not null && replay is not null)
{
    Console.WriteLine();
    Console.WriteLine($"| operation ({options.Accounts:N0} accounts, {options.Concurrency} clients in the host's process) | requests | errors | requests/s | p50 ms | p95 ms | p99 ms | CPU ms/request |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
    Console.WriteLine(balance.Row("GetBalance"));
    Console.WriteLine(posting.Row("PostPayment (new)"));
    Console.WriteLine(replay.Row("PostPayment (repeat)"));
}
if (separate.Count > 0)
{
    Console.WriteLine();
    Console.WriteLine($"| operation ({options.Accounts:N0} accounts, {options.Concurrency} clients in a child process, {options.Connections} connections, after {options.WarmUpSeconds} s of warm-up) | requests | errors | requests/s | p50 ms | p95 ms | p99 ms | max ms | host CPU ms/request | client CPU ms/request | host JIT during it | host GCs (gen 0/1/2), paused | host KiB allocated/request | group commits (mean size), log flushes |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    foreach (var (name, client, host) in separate)
        Console.WriteLine(client.Row(name, host));
}
Console.WriteLine();
Console.WriteLine("| step | bills | messages | seconds | bills/s | CPU µs/bill |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| warm-up (cold process: JIT tiers) | {warmUp:N0} | {(warmUp + BillsPerMessage - 1) / BillsPerMessage:N0} | {warmUpElapsed.TotalSeconds:F1} | {warmUp / warmUpElapsed.TotalSeconds:N0} | {warmUpCpuMs * 1000 / warmUp:F0} |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| BillIssued consumed into the ledger ({BillsPerMessage} bills a message) | {options.Bills:N0} | {(options.Bills + BillsPerMessage - 1) / BillsPerMessage:N0} | {billsElapsed.TotalSeconds:F1} | {options.Bills / billsElapsed.TotalSeconds:N0} | {billsCpuMs * 1000 / Math.Max(1, options.Bills):F0} |"));
if (h2load is not null)
    Console.WriteLine($"\nGetBalance by h2load: {h2load}");
using (var self = Process.GetCurrentProcess())
    Console.WriteLine($"\nPeak working set (host and load generator in one process): {self.PeakWorkingSet64 / (1024 * 1024):N0} MiB");
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");

foreach (var channel in channels)
    channel.Dispose();
await app.StopAsync();
SqliteConnection.ClearAllPools();
if (!options.Keep)
    Directory.Delete(dataDirectory, recursive: true);
return 0;

// Quarter n after the seeded bill, so that every bill of an account has its own period; ids made as Billing makes them
// on SQLite (sequential as text, so that its bills' primary key is appended to), which Payments' bill-id index then
// also receives in order.
static IssuedBill NewBill(string userNumber, int quarter)
{
    var start = new DateOnly(2026, 3, 31).AddMonths(3 * (quarter - 1));
    return new IssuedBill(NewId.NextSequentialGuid(), userNumber, start, start.AddMonths(3), 50_000, 17_158, start.AddMonths(4));
}

// The consumer commits each message in its own transaction: counting rows from outside sees the bills as channels would.
static async Task WaitForReceivables(string databaseFile, long expected, TimeSpan timeout)
{
    await using var connection = new SqliteConnection($"Data Source={databaseFile}");
    connection.Open();
    await using var count = connection.CreateCommand();
    count.CommandText = "SELECT MAX(Id) FROM Receivables"; // ids only grow: cheaper than COUNT(*) on a million rows
    var clock = Stopwatch.StartNew();
    while (Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture) < expected)
    {
        if (clock.Elapsed > timeout)
            throw new TimeoutException($"the ledger did not reach {expected:N0} bills in {timeout}");
        await Task.Delay(20);
    }
}

static string[] Seed(string databaseFile, int accounts)
{
    var numbers = new string[accounts];
    using var connection = new SqliteConnection($"Data Source={databaseFile}");
    connection.Open();
    using var transaction = connection.BeginTransaction();
    using var account = connection.CreateCommand();
    account.CommandText = """
        INSERT INTO LedgerAccounts (Id, UserNumber, HolderName, Address, OpenedOn, CreditFen, Version, CreatedAt)
        VALUES ($id, $number, '张三明', '东昌府区 幸福小区 3号楼 2单元 301', '2026-01-01', 0, 0, '2026-01-01 00:00:00')
        """;
    var accountId = account.Parameters.Add("$id", SqliteType.Integer);
    var number = account.Parameters.Add("$number", SqliteType.Text);
    using var bill = connection.CreateCommand();
    bill.CommandText = """
        INSERT INTO Receivables (Id, BillId, LedgerAccountId, RunId, PeriodStart, PeriodEnd, VolumeLitres, AmountFen, PaidFen,
                                 DueDate, IssuedAt, CancelledAt)
        VALUES ($id, $bill, $id, '00000000-0000-0000-0000-000000000001', '2026-01-01', '2026-03-31', 100000, $amount, 0,
                '2026-04-30', '2026-04-01 00:00:00', NULL)
        """;
    var billRowId = bill.Parameters.Add("$id", SqliteType.Integer);
    var billId = bill.Parameters.Add("$bill", SqliteType.Text);
    bill.Parameters.AddWithValue("$amount", BillFen);
    account.Transaction = transaction;
    bill.Transaction = transaction;
    for (var i = 0; i < accounts; i++)
    {
        numbers[i] = UserNumber.FromBody(100_000_000 + i).Value;
        accountId.Value = i + 1;
        number.Value = numbers[i];
        account.ExecuteNonQuery();
        billRowId.Value = i + 1;
        // EF Core stores a Guid on SQLite as upper-case text.
        billId.Value = Guid.NewGuid().ToString().ToUpperInvariant();
        bill.ExecuteNonQuery();
    }
    transaction.Commit();
    // The seeding's few hundred megabytes of log go into the database file and onto the disk now, as part of the
    // set-up: left to the background checkpointer, their copying and flushing overlapped the first measured phase.
    using var checkpoint = connection.CreateCommand();
    checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
    checkpoint.ExecuteNonQuery();
    return numbers;
}

static string Pragmas(string databaseFile)
{
    using var connection = new SqliteConnection($"Data Source={databaseFile}");
    connection.Open();
    using var command = connection.CreateCommand();
    command.CommandText = "PRAGMA journal_mode";
    var journal = command.ExecuteScalar();
    command.CommandText = "PRAGMA synchronous";
    var synchronous = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    return $"journal_mode={journal}, synchronous={(synchronous == 2 ? "FULL" : synchronous == 1 ? "NORMAL" : synchronous.ToString(CultureInfo.InvariantCulture))}";
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal static partial class Program
{
    private const long BillFen = 33_200;
    private const int BillsPerMessage = 500;
}

/// <summary>Sends the channel's API key with every call, as a real channel does.</summary>
internal sealed class ApiKeyHandler(string apiKey) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.TryAddWithoutValidation("x-api-key", apiKey);
        return base.SendAsync(request, cancellationToken);
    }
}

internal static class H2Load
{
    /// <summary>
    /// Drives GetBalance with several h2load processes at once. h2load sends one request body, so each process
    /// asks for an account of its own (a random one, or all the first with <c>--h2load-one-account</c>);
    /// per-request latencies come from h2load's <c>--log-file</c>. Answers a summary line with percentiles and
    /// the host's CPU per request (this process runs no client while h2load does).
    /// </summary>
    public static async Task<string> RunAsync(int port, string[] userNumbers, BenchmarkOptions options)
    {
        const int warmUpSeconds = 2;
        var processes = Math.Max(1, options.H2LoadProcesses);
        var streams = Math.Max(1, options.Concurrency / processes);
        var folder = Directory.CreateTempSubdirectory("h2load-");
        var starts = new List<ProcessStartInfo>();
        for (var i = 0; i < processes; i++)
        {
            var userNumber = options.H2LoadOneAccount ? userNumbers[0] : userNumbers[Random.Shared.Next(userNumbers.Length)];
            // A gRPC message on the wire: no compression flag, big-endian length, the protobuf bytes.
            var message = Google.Protobuf.MessageExtensions.ToByteArray(new GetBalanceRequest { UserNumber = userNumber });
            var frame = new byte[5 + message.Length];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
            message.CopyTo(frame, 5);
            var body = Path.Combine(folder.FullName, $"body-{i}");
            await File.WriteAllBytesAsync(body, frame);
            starts.Add(new ProcessStartInfo("h2load")
            {
                RedirectStandardOutput = true,
                ArgumentList =
                {
                    "-c", "1", "-m", streams.ToString(CultureInfo.InvariantCulture),
                    "-D", options.Seconds.ToString(CultureInfo.InvariantCulture),
                    "--warm-up-time", warmUpSeconds.ToString(CultureInfo.InvariantCulture),
                    "-d", body, "--log-file", Path.Combine(folder.FullName, $"log-{i}"),
                    "-H", "content-type: application/grpc", "-H", "te: trailers",
                    "-H", "x-api-key: dev-wechat.wechat-dev-secret",
                    $"http://127.0.0.1:{port}/metering.payments.v1.Payments/GetBalance",
                },
            });
        }

        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var running = starts.Select(start => Process.Start(start)
            ?? throw new InvalidOperationException("h2load did not start (apt-get install nghttp2-client)")).ToList();
        var outputs = await Task.WhenAll(running.Select(async p =>
        {
            var output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            return output;
        }));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var runSeconds = wall.Elapsed.TotalSeconds;
        foreach (var process in running)
            process.Dispose();

        // Log lines: start (µs since the epoch), HTTP status, duration (µs); h2load logs the measured requests only,
        // not its warm-up. The CPU is of the whole run, warm-up included, taken to run at the measured rate.
        var entries = Enumerable.Range(0, processes)
            .SelectMany(i => File.ReadLines(Path.Combine(folder.FullName, $"log-{i}")))
            .Select(line => line.Split('\t'))
            .Where(f => f.Length >= 3)
            .Select(f => (Start: long.Parse(f[0], CultureInfo.InvariantCulture), Status: int.Parse(f[1], CultureInfo.InvariantCulture),
                Micros: long.Parse(f[2], CultureInfo.InvariantCulture)))
            .ToList();
        folder.Delete(recursive: true);
        var summaries = outputs.Select(o => o.Split('\n').FirstOrDefault(l => l.StartsWith("requests:", StringComparison.Ordinal))?.Trim()).ToList();
        if (entries.Count == 0)
            return "h2load logged no request: " + string.Join(" | ", summaries);
        var failed = entries.Count(e => e.Status != 200);
        var sorted = entries.Select(e => e.Micros / 1000.0).Order().ToArray();
        var seconds = (entries.Max(e => e.Start + e.Micros) - entries.Min(e => e.Start)) / 1e6;
        var result = Measurement.Of(sorted, failed, TimeSpan.FromSeconds(seconds), null, cpu);
        return string.Create(CultureInfo.InvariantCulture,
            $"{processes} processes × 1 connection × {streams} streams, {(options.H2LoadOneAccount ? "one account" : "an account of its own each")}: " +
            $"{result.Requests:N0} requests, {failed} not HTTP 200, {result.Rate:N0} requests/s, " +
            $"p50 {result.P50:F2} ms, p95 {result.P95:F2} ms, p99 {result.P99:F2} ms, max {result.Max:F2} ms; " +
            $"host CPU {cpu.TotalMilliseconds / (result.Rate * runSeconds):F3} ms/request (over {runSeconds:F1} s with the warm-up)");
    }
}

internal sealed record BenchmarkOptions(
    int Accounts, int Concurrency, int Seconds, int Connections, int Bills, bool Keep, bool H2Load,
    int H2LoadProcesses, bool H2LoadOneAccount, bool ClientProcess, int[] OpenRates, bool InProcess,
    IReadOnlyDictionary<string, string> Settings, int BillsWarmUp, int WarmUpSeconds, bool OpenOnly)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        int Int(string name, int fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new BenchmarkOptions(Int("--accounts", 1_000_000), Int("--concurrency", 64), Int("--seconds", 20),
            Int("--connections", 4), Int("--bills", 200_000), args.Contains("--keep"), args.Contains("--h2load"),
            Int("--h2load-processes", 8), args.Contains("--h2load-one-account"), args.Contains("--client-process"),
            Array.IndexOf(args, "--open-rates") is var at and >= 0 && at + 1 < args.Length
                ? args[at + 1].Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToArray()
                : [],
            !args.Contains("--no-in-process"),
            args.Select((arg, i) => (arg, i)).Where(a => a.arg == "--set" && a.i + 1 < args.Length)
                .Select(a => args[a.i + 1].Split('=', 2))
                .ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : ""),
            Int("--bills-warmup", 20_000), Int("--warmup", 15), args.Contains("--open-only"));
    }
}

internal sealed record Measurement(
    long Requests, long Errors, TimeSpan Elapsed, double P50, double P95, double P99, double Max, string? FirstError, TimeSpan ProcessorTime)
{
    public static Measurement Of(double[] sortedMilliseconds, long errors, TimeSpan elapsed, string? firstError, TimeSpan processorTime)
    {
        double Percentile(double p) => sortedMilliseconds.Length == 0
            ? double.NaN
            : sortedMilliseconds[Math.Min(sortedMilliseconds.Length - 1, (int)Math.Ceiling(p * sortedMilliseconds.Length) - 1)];
        return new Measurement(sortedMilliseconds.Length, errors, elapsed, Percentile(0.50), Percentile(0.95), Percentile(0.99),
            Percentile(1.0), firstError, processorTime);
    }

    public double Rate => Requests / Elapsed.TotalSeconds;

    /// <summary>CPU of the whole process per request: with the clients in-process, host and load generator together.</summary>
    public string Row(string name) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {Requests:N0} | {Errors:N0} | {Rate:N0} | {P50:F2} | {P95:F2} | {P99:F2} | {ProcessorTime.TotalMilliseconds / Math.Max(1, Requests):F2} |")
        + ErrorNote(name);

    /// <summary>With the clients in their own process: the host's CPU per request and the client's apart, and what
    /// the host's JIT compiled meanwhile (a measurement taken while the runtime still tiers up code is not steady).</summary>
    public string Row(string name, HostShare host) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {Requests:N0} | {Errors:N0} | {Rate:N0} | {P50:F2} | {P95:F2} | {P99:F2} | {Max:F2} | {host.Cpu.TotalMilliseconds / Math.Max(1, Requests):F3} | {ProcessorTime.TotalMilliseconds / Math.Max(1, Requests):F3} | {host.JitMethods:N0} methods, {host.JitTime.TotalMilliseconds:N0} ms | {host.Gen0}/{host.Gen1}/{host.Gen2}, {host.GcPause.TotalMilliseconds:N0} ms | {host.Allocated / 1024.0 / Math.Max(1, Requests):F1} | {host.Batches:N0} ({(double)host.BatchItems / Math.Max(1, host.Batches):F1}), {host.Flushes:N0} |")
        + ErrorNote(name);

    private string ErrorNote(string name) => FirstError is null ? "" : $"\n\nfirst error of {name}: {FirstError}";

    // One line between the client process and the host: tab-separated, the error last.
    public string Serialize() => string.Join('\t', Requests.ToString(CultureInfo.InvariantCulture), Errors.ToString(CultureInfo.InvariantCulture),
        Elapsed.Ticks.ToString(CultureInfo.InvariantCulture), P50.ToString("R", CultureInfo.InvariantCulture),
        P95.ToString("R", CultureInfo.InvariantCulture), P99.ToString("R", CultureInfo.InvariantCulture),
        Max.ToString("R", CultureInfo.InvariantCulture), ProcessorTime.Ticks.ToString(CultureInfo.InvariantCulture),
        (FirstError ?? "").ReplaceLineEndings(" ").Replace('\t', ' '));

    public static Measurement Deserialize(string line)
    {
        var f = line.Split('\t');
        return new Measurement(long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
            TimeSpan.FromTicks(long.Parse(f[2], CultureInfo.InvariantCulture)), double.Parse(f[3], CultureInfo.InvariantCulture),
            double.Parse(f[4], CultureInfo.InvariantCulture), double.Parse(f[5], CultureInfo.InvariantCulture),
            double.Parse(f[6], CultureInfo.InvariantCulture), f[8].Length == 0 ? null : f[8],
            TimeSpan.FromTicks(long.Parse(f[7], CultureInfo.InvariantCulture)));
    }
}

internal static class Measure
{
    /// <summary>Closed loop: <paramref name="workers"/> clients each send the next request as soon as the last one is answered.</summary>
    public static async Task<Measurement> RunAsync<T>(int workers, TimeSpan duration, Func<int, int, Task<T>> call)
    {
        var latencies = new List<double>[workers];
        long errors = 0;
        string? firstError = null;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
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
        // CPU of this process: with in-process clients, host and load generator together.
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return Measurement.Of(all, errors, elapsed, firstError, cpu);
    }

    /// <summary>How late the open loop's requests left (sent after their due time), for the generator's own delays.</summary>
    public static System.Collections.Concurrent.ConcurrentQueue<double> Lateness = new();

    /// <summary>
    /// Open loop: request i is due at start + i / <paramref name="rate"/>, whatever happened to the ones before it;
    /// <paramref name="workers"/> requests may be in flight at once. Latency counts from the due time, not from
    /// the send, so a request held up behind slow ones is charged its wait (no coordinated omission).
    /// One thread of its own starts the requests at their due times: timers and the thread pool (the earlier
    /// driver) woke requests late by tens of milliseconds on the two cores the host shares, and the open loop
    /// charged that lateness to the service.
    /// </summary>
    public static async Task<Measurement> OpenLoopAsync(int workers, int rate, TimeSpan duration, Func<int, int, Task> call)
    {
        Lateness = new();
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        long errors = 0;
        string? firstError = null;
        var due = (long)(duration.TotalSeconds * rate);
        var slots = new SemaphoreSlim(workers, workers);
        var inFlight = new List<Task>((int)Math.Min(due, 1_000_000));
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var start = Stopwatch.GetTimestamp();

        async Task OneAsync(long index, long scheduled)
        {
            try
            {
                await call((int)(index % workers), (int)(index / workers));
                latencies.Add(Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref errors);
                Interlocked.CompareExchange(ref firstError, ex.Message, null);
            }
            finally
            {
                slots.Release();
            }
        }

        var sender = new Thread(() =>
        {
            for (long index = 0; index < due; index++)
            {
                var scheduled = start + (long)(index * (double)Stopwatch.Frequency / rate);
                // Sleeping (to the next whole millisecond, as Thread.Sleep counts) leaves a request up to about a
                // millisecond late; spinning the rest away cost the shared cores half a core at 1 000/s.
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), scheduled);
                if (wait > TimeSpan.Zero)
                    Thread.Sleep((int)Math.Ceiling(wait.TotalMilliseconds));
                slots.Wait(); // all workers busy: this request leaves late, and is charged for it
                Lateness.Enqueue(Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds);
                inFlight.Add(OneAsync(index, scheduled));
            }
        }) { IsBackground = true, Name = "open-loop sender" };
        sender.Start();
        await Task.Run(sender.Join);
        await Task.WhenAll(inFlight);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var all = latencies.ToArray();
        Array.Sort(all);
        return Measurement.Of(all, errors, elapsed, firstError, cpu);
    }
}

internal static class FsyncProbe
{
    /// <summary>
    /// The disk's own fsync latency, where the benchmark keeps its database: a durable commit waits for one, so no posting
    /// percentile can be below this distribution's. Appends 4 KiB (a WAL frame) and flushes it to the disk, N times.
    /// </summary>
    public static int Run(string[] args)
    {
        var at = Array.IndexOf(args, "--fsync-probe");
        var count = at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var n) ? n : 2_000;
        var folder = Path.Combine(Path.GetTempPath(), "metering-payments-bench");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"fsync-probe-{Environment.ProcessId}.dat");
        var page = new byte[4096];
        var latencies = new double[count];
        var clock = Stopwatch.StartNew();
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            for (var i = 0; i < count; i++)
            {
                var started = Stopwatch.GetTimestamp();
                file.Write(page);
                file.Flush(flushToDisk: true);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }
        File.Delete(path);
        Array.Sort(latencies);
        double P(double p) => latencies[Math.Min(count - 1, (int)Math.Ceiling(p * count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fsync of 4 KiB appended, {count:N0} times in {folder}: p50 {P(0.5):F2} ms, p90 {P(0.9):F2}, p95 {P(0.95):F2}, " +
            $"p99 {P(0.99):F2}, p99.9 {P(0.999):F2}, max {latencies[^1]:F2} ms; {count / clock.Elapsed.TotalSeconds:N0} fsyncs/s"));
        return 0;
    }
}
