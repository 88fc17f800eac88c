using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Metering.Accounts;
using Metering.Accounts.Data;
using Metering.Contracts.Accounts.V1;
using Metering.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

// Usage: dotnet run -c Release --project benchmarks/Metering.Accounts.Benchmarks -- [--households 100000]
//        [--per-community 2000] [--per-riser 12] [--concurrency 4] [--unary] [--no-relay] [--keep]
var options = BenchmarkOptions.Parse(args);
var dataDirectory = Path.Combine(Path.GetTempPath(), "metering-accounts-bench", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(dataDirectory);
var port = FreePort();

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Benchmark" });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Database:Provider"] = "Sqlite",
    ["ConnectionStrings:Accounts"] = $"Data Source={Path.Combine(dataDirectory, "accounts.db")}",
    ["Bus:Transport"] = "InMemory",
    ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{port}",
    ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
    ["Logging:LogLevel:Default"] = "Warning",
    ["Grpc:EnableReflection"] = "false",
    // The well-known development keys; every call below carries the operator's.
    ["Security:DevelopmentKeys"] = "true",
    // --no-relay measures the write path alone: the events stay in the outbox instead of being published meanwhile.
    ["Outbox:RelayEnabled"] = options.NoRelay ? "false" : "true",
});
builder.AddMetering(new AccountsModule());
var app = builder.Build();
app.MapMetering();
await app.StartAsync();

using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
{
    MaxSendMessageSize = AccountsModule.MaxSurveyBytes, MaxReceiveMessageSize = AccountsModule.MaxSurveyBytes,
});
var client = new AccountsClient(channel.Intercept(metadata =>
{
    metadata.Add("x-api-key", "dev-operator.operator-dev-secret");
    return metadata;
}));
Console.WriteLine($"Accounts benchmark: {options.Households} households, {options.PerCommunity} per community, " +
                  $"{options.PerRiser} per riser, {options.Concurrency} concurrent clients; SQLite in {dataDirectory}");

// 1. Survey import: one CSV per community, several communities at once.
var communities = new List<(long Id, string Name, int Households)>();
for (var c = 0; c * options.PerCommunity < options.Households; c++)
{
    var name = $"小区{c + 1:D4}";
    var community = await client.CreateCommunityAsync(new CreateCommunityRequest
    {
        Name = name, District = "东昌府区", Subdistrict = "古楼街道", CompletedOn = "1998-05-01",
        Land = LandTenure.StateOwned, Settlement = Settlement.City,
    });
    communities.Add((community.CommunityId, name, Math.Min(options.PerCommunity, options.Households - c * options.PerCommunity)));
}
var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var importRun = await Measure.RunAsync(communities, options.Concurrency, async community =>
{
    var result = await client.ImportSurveyAsync(new ImportSurveyRequest
    {
        CommunityId = community.Id, Csv = Survey(community.Name, community.Households, options.PerRiser),
    });
    if (result.Created != community.Households)
        throw new InvalidOperationException($"{community.Name}: {result.Created} created, {result.Refused} refused");
    return result.Created;
});

var importCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

// 2. Consent is paperwork, not load: every household is marked consented directly in the database.
await using (var scope = app.Services.CreateAsyncScope())
{
    var db = scope.ServiceProvider.GetRequiredService<AccountsDbContext>();
    await db.Households.ExecuteUpdateAsync(s => s
        .SetProperty(h => h.Consent, Metering.Accounts.Domain.ConsentState.Consented)
        .SetProperty(h => h.ConsentSignedBy, "bench")
        .SetProperty(h => h.ConsentSignedOn, new DateOnly(2026, 3, 1)));
}
var risers = new List<RiserDetail>();
foreach (var community in communities)
    risers.AddRange((await client.ListRisersAsync(new ListRisersRequest { CommunityId = community.Id })).Risers);

ConvertRiserRequest Conversion(RiserDetail riser)
{
    var request = new ConvertRiserRequest { RiserId = riser.RiserId, CompletedOn = "2026-04-15" };
    request.Meters.AddRange(riser.Households.Select(h => new InstalledMeter
    {
        Unit = h.Unit, MeterSerial = $"B{riser.RiserId}-{h.Unit}", InitialRegisterLitres = 0,
    }));
    return request;
}

// 3. Conversion, as an office converts a district's finished risers: streamed, one stream per community.
// With --unary, one ConvertRiser request per riser instead (as the fitters report them one by one).
cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var conversionStarted = Stopwatch.GetTimestamp();
Measure conversionRun;
string conversionStep;
if (options.Unary)
{
    conversionStep = "conversion (ConvertRiser, one riser per request)";
    conversionRun = await Measure.RunAsync(risers, options.Concurrency,
        async riser => (await client.ConvertRiserAsync(Conversion(riser))).Accounts.Count);
}
else
{
    conversionStep = "conversion (ConvertRisers stream, one stream per community)";
    var byCommunity = risers.GroupBy(r => r.CommunityId).Select(g => g.ToList()).ToList();
    conversionRun = await Measure.RunAsync(byCommunity, options.Concurrency, async communityRisers =>
    {
        using var call = client.ConvertRisers();
        foreach (var riser in communityRisers)
            await call.RequestStream.WriteAsync(Conversion(riser));
        await call.RequestStream.CompleteAsync();
        var result = await call;
        if (result.RisersRefused > 0)
            throw new InvalidOperationException(result.Results.First(r => !r.Converted).Reason);
        return result.AccountsOpened;
    });
}

var conversionCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
var conversionSeconds = Stopwatch.GetElapsedTime(conversionStarted).TotalSeconds;

// 4. With the relay on: the time until every AccountOpened has left the outbox, reported apart from the
// conversion itself (the relay publishes one message at a time and may trail the writes).
string? relayLine = null;
if (!options.NoRelay)
{
    int unsent;
    do
    {
        await using var scope = app.Services.CreateAsyncScope();
        unsent = await scope.ServiceProvider.GetRequiredService<AccountsDbContext>().OutboxMessages.CountAsync(m => m.SentAt == null);
        if (unsent > 0)
            await Task.Delay(100);
    }
    while (unsent > 0 && Stopwatch.GetElapsedTime(conversionStarted) < TimeSpan.FromMinutes(30));
    var publishedSeconds = Stopwatch.GetElapsedTime(conversionStarted).TotalSeconds;
    var publishedCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    relayLine = unsent > 0
        ? $"Outbox relay: {unsent} events still unpublished after 30 minutes"
        : $"Outbox relay: every AccountOpened published {publishedSeconds:F1} s after the conversion started " +
          $"({publishedSeconds - conversionSeconds:F1} s after its last commit; {options.Households / publishedSeconds:F0} households/s " +
          $"end to end), process CPU until then {publishedCpu.TotalSeconds:F1} s";
}
long accounts;
await using (var scope = app.Services.CreateAsyncScope())
    accounts = await scope.ServiceProvider.GetRequiredService<AccountsDbContext>().Accounts.CountAsync();
var peak = Process.GetCurrentProcess().PeakWorkingSet64;

Console.WriteLine();
Console.WriteLine("| step | households | requests | seconds | households/s | p50 ms | p95 ms | p99 ms |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
Console.WriteLine(importRun.Row("survey import (ImportSurvey, one CSV per community)"));
Console.WriteLine(conversionRun.Row(conversionStep));
Console.WriteLine();
Console.WriteLine($"CPU time of the process: import {importCpu.TotalSeconds:F1} s, conversion {conversionCpu.TotalSeconds:F1} s " +
                  $"(on a shared machine the wall-clock figures above also count time spent waiting for a core)");
if (relayLine is not null)
    Console.WriteLine(relayLine);
Console.WriteLine($"Accounts opened: {accounts}; peak working set of the process (host and clients): {peak / (1024 * 1024)} MiB");

await app.StopAsync();
SqliteConnection.ClearAllPools();
if (!options.Keep)
    Directory.Delete(dataDirectory, recursive: true);
return accounts == options.Households ? 0 : 1;

static string Survey(string community, int households, int perRiser)
{
    var csv = new StringBuilder("community,building,riser,unit,holder,phone,persons\n");
    for (var i = 0; i < households; i++)
    {
        var riser = i / perRiser;
        var building = riser / 4 + 1;
        var floor = i % perRiser / 2 + 1;
        csv.Append(CultureInfo.InvariantCulture,
            $"{community},{building}号楼,{riser % 4 + 1}单元,{floor}0{i % 2 + 1},住户{i},139{i:D8},{i % 5 + 1}\n");
    }
    return csv.ToString();
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed record BenchmarkOptions(int Households, int PerCommunity, int PerRiser, int Concurrency, bool Unary, bool NoRelay, bool Keep)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        int Int(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new BenchmarkOptions(Int("--households", 100_000), Int("--per-community", 2_000), Int("--per-riser", 12),
            Int("--concurrency", 4), args.Contains("--unary"), args.Contains("--no-relay"), args.Contains("--keep"));
    }
}

/// <summary>Runs requests from a few concurrent clients; records each request's latency and the households it carried.</summary>
internal sealed record Measure(int Households, int Requests, TimeSpan Elapsed, double[] LatenciesMs)
{
    public static async Task<Measure> RunAsync<T>(IReadOnlyList<T> items, int concurrency, Func<T, Task<int>> call)
    {
        var latencies = new double[items.Count];
        var households = 0;
        var next = -1;
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < items.Count)
            {
                var started = Stopwatch.GetTimestamp();
                Interlocked.Add(ref households, await call(items[i]));
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        return new Measure(households, items.Count, total.Elapsed, latencies);
    }

    public string Row(string step)
    {
        var sorted = LatenciesMs.Order().ToArray();
        double P(double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture,
            $"| {step} | {Households} | {Requests} | {Elapsed.TotalSeconds:F1} | {Households / Elapsed.TotalSeconds:F0} | {P(0.50):F1} | {P(0.95):F1} | {P(0.99):F1} |");
    }
}
