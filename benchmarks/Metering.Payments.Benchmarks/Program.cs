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
//        [--concurrency 64] [--seconds 20] [--connections 4] [--bills 200000] [--h2load] [--keep]
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
builder.AddMetering(new PaymentsModule());
var app = builder.Build();
app.MapMetering();
await app.StartAsync();

Console.WriteLine($"Payments benchmark: {options.Accounts:N0} accounts, {options.Concurrency} concurrent gRPC clients over " +
                  $"{options.Connections} HTTP/2 connections, {options.Seconds} s per phase; SQLite in {dataDirectory}");

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

// 2. Warm-up, then the balance query at full concurrency.
await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(2), (worker, _) =>
    clients[worker % clients.Length].GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumbers[Random.Shared.Next(userNumbers.Length)] }).ResponseAsync);
var balance = await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(options.Seconds), (worker, _) =>
    clients[worker % clients.Length].GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumbers[Random.Shared.Next(userNumbers.Length)] }).ResponseAsync);

// 2b. Optional: the same query driven by h2load (nghttp2-client) from its own process, so that the CPU
// measured here is the host's alone.
var h2load = options.H2Load ? await H2Load.RunAsync(port, userNumbers[0], options) : null;

// 3. Payment posting: every request a new transaction of a random account, committed before it is answered.
var paidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1));
var posting = await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(options.Seconds), (worker, sequence) =>
    clients[worker % clients.Length].PostPaymentAsync(new PostPaymentRequest
    {
        UserNumber = userNumbers[Random.Shared.Next(userNumbers.Length)],
        Channel = "wechat",
        ChannelTransactionId = $"bench-{worker}-{sequence}",
        AmountFen = 1_000,
        PaidAt = paidAt,
    }).ResponseAsync);

// 4. The same notification resent: answered from the stored result.
var repeated = new PostPaymentRequest
{
    UserNumber = userNumbers[0], Channel = "wechat", ChannelTransactionId = "bench-repeat", AmountFen = 1_000, PaidAt = paidAt,
};
await clients[0].PostPaymentAsync(repeated);
var replay = await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(Math.Max(2, options.Seconds / 2)), (worker, sequence) =>
    clients[worker % clients.Length].PostPaymentAsync(repeated).ResponseAsync);

// 5. Billing's runs reaching the ledger: BillIssued messages of 500 bills each through the bus and the real consumer.
var bus = app.Services.GetRequiredService<IBus>();
var billAccounts = Math.Min(options.Bills, userNumbers.Length);
await bus.Publish(new BillIssued(Guid.NewGuid(), [NewBill(userNumbers[0], 0)], DateTimeOffset.UtcNow)); // warm-up
await WaitForReceivables(databaseFile, options.Accounts + 1, TimeSpan.FromSeconds(60));
var billsCpu = Process.GetCurrentProcess().TotalProcessorTime;
var billsClock = Stopwatch.StartNew();
for (var first = 0; first < options.Bills; first += BillsPerMessage)
{
    var bills = Enumerable.Range(first, Math.Min(BillsPerMessage, options.Bills - first))
        .Select(i => NewBill(userNumbers[i % billAccounts], 1 + i / billAccounts)).ToList();
    await bus.Publish(new BillIssued(Guid.NewGuid(), bills, DateTimeOffset.UtcNow));
}
await WaitForReceivables(databaseFile, options.Accounts + 1 + options.Bills, TimeSpan.FromMinutes(10));
var billsElapsed = billsClock.Elapsed;
var billsCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - billsCpu).TotalMilliseconds;

Console.WriteLine();
Console.WriteLine($"| operation ({options.Accounts:N0} accounts, {options.Concurrency} clients) | requests | errors | requests/s | p50 ms | p95 ms | p99 ms | CPU ms/request |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
Console.WriteLine(balance.Row("GetBalance"));
Console.WriteLine(posting.Row("PostPayment (new)"));
Console.WriteLine(replay.Row("PostPayment (repeat)"));
Console.WriteLine();
Console.WriteLine("| step | bills | messages | seconds | bills/s | CPU µs/bill |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| BillIssued consumed into the ledger ({BillsPerMessage} bills a message) | {options.Bills:N0} | {(options.Bills + BillsPerMessage - 1) / BillsPerMessage:N0} | {billsElapsed.TotalSeconds:F1} | {options.Bills / billsElapsed.TotalSeconds:N0} | {billsCpuMs * 1000 / Math.Max(1, options.Bills):F0} |"));
if (h2load is not null)
    Console.WriteLine($"\nGetBalance by h2load (one account, {options.Connections} connections × {options.Concurrency / options.Connections} streams): {h2load}");
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

// Quarter n after the seeded bill, so that every bill of an account has its own period; ids made as Billing makes them.
static IssuedBill NewBill(string userNumber, int quarter)
{
    var start = new DateOnly(2026, 3, 31).AddMonths(3 * (quarter - 1));
    return new IssuedBill(NewId.NextGuid(), userNumber, start, start.AddMonths(3), 50_000, 17_158, start.AddMonths(4));
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
    /// <summary>Runs h2load against GetBalance; answers its throughput line and the host's CPU per request.</summary>
    public static async Task<string> RunAsync(int port, string userNumber, BenchmarkOptions options)
    {
        // A gRPC message on the wire: no compression flag, big-endian length, the protobuf bytes.
        var message = Google.Protobuf.MessageExtensions.ToByteArray(new GetBalanceRequest { UserNumber = userNumber });
        var frame = new byte[5 + message.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
        message.CopyTo(frame, 5);
        var body = Path.GetTempFileName();
        await File.WriteAllBytesAsync(body, frame);
        var start = new ProcessStartInfo("h2load")
        {
            RedirectStandardOutput = true,
            ArgumentList =
            {
                "-c", options.Connections.ToString(CultureInfo.InvariantCulture),
                "-m", (options.Concurrency / options.Connections).ToString(CultureInfo.InvariantCulture),
                "-D", options.Seconds.ToString(CultureInfo.InvariantCulture), "--warm-up-time", "2",
                "-d", body,
                "-H", "content-type: application/grpc", "-H", "te: trailers",
                "-H", "x-api-key: dev-wechat.wechat-dev-secret",
                $"http://127.0.0.1:{port}/metering.payments.v1.Payments/GetBalance",
            },
        };
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        using var process = Process.Start(start)
            ?? throw new InvalidOperationException("h2load did not start (apt-get install nghttp2-client)");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        File.Delete(body);
        var lines = output.Split('\n');
        var finished = lines.FirstOrDefault(l => l.StartsWith("finished in", StringComparison.Ordinal))?.Trim() ?? "no summary";
        var requests = lines.FirstOrDefault(l => l.StartsWith("requests:", StringComparison.Ordinal))?.Trim() ?? "";
        var latency = lines.FirstOrDefault(l => l.StartsWith("time for request:", StringComparison.Ordinal))?.Trim() ?? "";
        // "finished in 7.02s, 2063.40 req/s, …": the rate is of the measured part, the time and the CPU include the
        // warm-up, taken to run at the same rate.
        var parts = finished.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries);
        var seconds = double.TryParse(parts.ElementAtOrDefault(2)?.TrimEnd('s'), CultureInfo.InvariantCulture, out var s) ? s : double.NaN;
        var rate = double.TryParse(parts.ElementAtOrDefault(3), CultureInfo.InvariantCulture, out var r) ? r : double.NaN;
        return string.Create(CultureInfo.InvariantCulture,
            $"{finished}; {requests}; {latency}; host CPU {cpu.TotalMilliseconds / (seconds * rate):F3} ms/request");
    }
}

internal sealed record BenchmarkOptions(int Accounts, int Concurrency, int Seconds, int Connections, int Bills, bool Keep, bool H2Load)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        int Int(string name, int fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new BenchmarkOptions(Int("--accounts", 1_000_000), Int("--concurrency", 64), Int("--seconds", 20),
            Int("--connections", 4), Int("--bills", 200_000), args.Contains("--keep"), args.Contains("--h2load"));
    }
}

internal sealed record Measurement(
    long Requests, long Errors, TimeSpan Elapsed, double[] SortedMilliseconds, string? FirstError, TimeSpan ProcessorTime)
{
    private double Percentile(double p) => SortedMilliseconds.Length == 0
        ? double.NaN
        : SortedMilliseconds[Math.Min(SortedMilliseconds.Length - 1, (int)Math.Ceiling(p * SortedMilliseconds.Length) - 1)];

    public string Row(string name) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {Requests:N0} | {Errors:N0} | {Requests / Elapsed.TotalSeconds:N0} | {Percentile(0.50):F2} | {Percentile(0.95):F2} | {Percentile(0.99):F2} | {ProcessorTime.TotalMilliseconds / Math.Max(1, Requests):F2} |")
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
        // CPU of host and load generator together: on a shared machine it says more than wall-clock throughput.
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new Measurement(all.Length, errors, elapsed, all, firstError, cpu);
    }
}
