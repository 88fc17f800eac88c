using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Net.Client;
using Metering.Contracts.Readings.V1;
using Metering.Domain;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

/// <summary>What the host does between the load generator's phases (it owns the database and its own CPU clock).</summary>
internal sealed record HostPhases(Action BulkStarting, Action BulkDone, Func<Task<TimeSpan>> WaitForRelay, Action<bool> SinglePhase);

internal sealed record GeneratorReport(long BulkRows, long BulkRefused, double BulkSeconds, double GeneratorCpuSeconds,
    string SingleWhileRelaying, long RequestsWhileRelaying, string SingleAfterRelay, long RequestsAfterRelay, double RelayDrainSeconds);

/// <summary>
/// The client side of the benchmark: (1) every reading through one <c>StreamReadings</c> call, (2) single readings
/// over JSON as soon as the bulk load is answered (the relay is then still publishing its events), (3) the same
/// once the relay has drained. In its own process (the default) its CPU is not counted as the host's.
/// </summary>
internal sealed class LoadGenerator(BenchmarkOptions options, int grpcPort, int httpPort)
{
    private const string ApiKey = "dev-operator.operator-dev-secret";
    private static readonly DateOnly Start = new(2025, 1, 1);

    public static string UserNumberOf(int account) => UserNumber.FromBody(100_000_000 + account).Value;

    public async Task<GeneratorReport> RunAsync(HostPhases host)
    {
        var perAccount = MonthsPerAccount(options.Readings, options.Accounts);
        var userNumbers = Enumerable.Range(0, options.Accounts).Select(UserNumberOf).ToArray();
        var singleDate = Start.AddMonths(perAccount + 1);
        if (singleDate > DateOnly.FromDateTime(DateTime.UtcNow))
            throw new InvalidOperationException($"--readings/--accounts give {perAccount} months: the single readings would be in the future");

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        var client = new ReadingsClient(channel);

        // 0. A warm-up stream on accounts of its own, not measured, and its events published before the measured load:
        // a service that takes meter-data files has run its bulk path before, while a new process spends seconds of
        // CPU compiling it (3–4 s, about 10 % of a 1 000 000-reading load on this machine). --bulk-warmup 0 measures
        // the cold process.
        if (options.BulkWarmUp > 0)
        {
            var warmAccounts = WarmUpAccounts(options);
            var warm = await StreamAsync(client, options.Accounts, warmAccounts, options.BulkWarmUp, transportOnly: false);
            if (warm.Accepted + warm.Held != options.BulkWarmUp)
                throw new InvalidOperationException($"the warm-up load did not accept every row: {warm.Accepted} accepted, {warm.Refused} refused");
            await host.WaitForRelay();
        }

        // 1. Bulk: one stream, rows ordered as a meter-data system sends them (a month's readings of every account, then the next month).
        host.BulkStarting();
        var bulkClock = Stopwatch.StartNew();
        var cpu = ProcessCpu();
        var bulk = await StreamAsync(client, 0, options.Accounts, options.Readings, options.TransportOnly);
        var bulkSeconds = bulkClock.Elapsed.TotalSeconds;
        var generatorCpu = (ProcessCpu() - cpu).TotalSeconds;
        host.BulkDone();
        if (!options.TransportOnly && bulk.Accepted + bulk.Held != options.Readings)
            throw new InvalidOperationException($"bulk load did not accept every row: {bulk.Accepted} accepted, {bulk.Held} held, " +
                                                $"{bulk.Refused} refused; first: {bulk.Results.FirstOrDefault()}");

        // 2. and 3. Single readings over JSON: every request a new reading of a different account, committed before it is answered.
        var http = Enumerable.Range(0, options.Concurrency)
            .Select(_ => new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), DefaultRequestHeaders = { { "x-api-key", ApiKey } } })
            .ToArray();
        var nextAccount = -1;
        var singleDateText = singleDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        async Task<bool> RecordOne(int worker, int sequence)
        {
            var account = Interlocked.Increment(ref nextAccount);
            if (account >= userNumbers.Length)
                throw new InvalidOperationException("ran out of accounts: give more --accounts");
            using var response = await http[worker].PostAsJsonAsync($"/v1/accounts/{userNumbers[account]}/readings",
                new { readOn = singleDateText, registerLitres = 9_000L * (perAccount + 1) + 500 });
            response.EnsureSuccessStatusCode();
            return true;
        }
        var duration = TimeSpan.FromSeconds(options.Seconds);
        // A warm-up of the same load, not measured: the JSON path's requests run code that the bulk phase did not use,
        // and the runtime recompiles it into its optimised tiers for many seconds (the host prints what its JIT still
        // compiled during each measured phase).
        await Measure.RunAsync(options.Concurrency, TimeSpan.FromSeconds(options.WarmUpSeconds), RecordOne);
        host.SinglePhase(true);
        var whileRelaying = await Measure.RunAsync(options.Concurrency, duration, RecordOne);
        host.SinglePhase(false);
        var drained = await host.WaitForRelay();
        host.SinglePhase(true);
        var afterRelay = await Measure.RunAsync(options.Concurrency, duration, RecordOne);
        host.SinglePhase(false);
        foreach (var h in http)
            h.Dispose();

        return new GeneratorReport(bulk.Rows, bulk.Refused, bulkSeconds, generatorCpu,
            whileRelaying.Row($"RecordReading over JSON ({options.Concurrency} clients), started as the bulk load was answered (the relay may still be publishing)"),
            whileRelaying.Requests,
            afterRelay.Row($"RecordReading over JSON ({options.Concurrency} clients), after the relay had published every event"),
            afterRelay.Requests,
            drained.TotalSeconds);
    }

    /// <summary>Monthly readings per account when <paramref name="readings"/> are spread over <paramref name="accounts"/>.</summary>
    public static int MonthsPerAccount(int readings, int accounts) => (int)Math.Ceiling(readings / (double)accounts);

    /// <summary>The warm-up stream's accounts (as many months each as the measured load's), numbered after the measured load's.</summary>
    public static int WarmUpAccounts(BenchmarkOptions options) =>
        options.BulkWarmUp == 0 ? 0 : MonthsPerAccount(options.BulkWarmUp, MonthsPerAccount(options.Readings, options.Accounts));

    /// <summary>
    /// One <c>StreamReadings</c> call of <paramref name="readings"/> rows for the accounts numbered from
    /// <paramref name="firstAccount"/>: every account's reading of a month, then the next month.
    /// </summary>
    private async Task<ImportReadingsResponse> StreamAsync(ReadingsClient client, int firstAccount, int accounts, int readings,
        bool transportOnly)
    {
        var perAccount = MonthsPerAccount(readings, accounts);
        using var call = client.StreamReadings(new Grpc.Core.Metadata { { "x-api-key", ApiKey } });
        // --batch N: N rows per stream message (the repeated `rows` field); 0 sends one row per message.
        var batch = new ReadingRow();
        var sent = 0;
        for (var month = 1; month <= perAccount && sent < readings; month++)
        {
            var readOn = Start.AddMonths(month).AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            for (var a = 0; a < accounts && sent < readings; a++, sent++)
            {
                // --transport-only: every row is refused on its malformed user number before any database work,
                // which measures the stream itself.
                var row = new ReadingRow
                {
                    UserNumber = transportOnly ? "x" : UserNumberOf(firstAccount + a), ReadOn = readOn, RegisterLitres = 9_000L * month + a % 1_000,
                    Kind = ReadingKind.Actual,
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
        return await call;
    }

    private static TimeSpan ProcessCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>
    /// The host's side of a load generator in a child process (this program with <c>--generator</c>): the child says
    /// when it starts and ends each phase on its standard output and waits for the host's answer on its input.
    /// </summary>
    public static async Task<GeneratorReport> RunChildProcessAsync(string[] args, int grpcPort, int httpPort, HostPhases host)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        // Under `dotnet Program.dll` the program is the dll; under its apphost, the process itself.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            start.ArgumentList.Add(typeof(LoadGenerator).Assembly.Location);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var arg in new[] { "--generator", "--grpc-port", grpcPort.ToString(CultureInfo.InvariantCulture), "--http-port", httpPort.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("the load generator did not start");
        GeneratorReport? report = null;
        while (await child.StandardOutput.ReadLineAsync() is { } line)
        {
            switch (line)
            {
                case "@bulk-starting":
                    host.BulkStarting();
                    await child.StandardInput.WriteLineAsync("go");
                    break;
                case "@bulk-done":
                    host.BulkDone();
                    break;
                case "@single-start":
                    host.SinglePhase(true);
                    break;
                case "@single-end":
                    host.SinglePhase(false);
                    break;
                case "@wait-relay":
                    var drained = await host.WaitForRelay();
                    await child.StandardInput.WriteLineAsync(drained.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (line.StartsWith("@report ", StringComparison.Ordinal))
                        report = JsonSerializer.Deserialize<GeneratorReport>(line["@report ".Length..]);
                    else
                        Console.WriteLine(line);
                    break;
            }
            await child.StandardInput.FlushAsync();
        }
        await child.WaitForExitAsync();
        if (child.ExitCode != 0 || report is null)
            throw new InvalidOperationException($"the load generator failed (exit code {child.ExitCode})");
        return report;
    }

    /// <summary>The child's side: the same phases, each begun or ended by a line to the host.</summary>
    public static async Task<int> RunChildAsync(BenchmarkOptions options, string[] args)
    {
        int Port(string name) => int.Parse(args[Array.IndexOf(args, name) + 1], CultureInfo.InvariantCulture);
        var generator = new LoadGenerator(options, Port("--grpc-port"), Port("--http-port"));
        var report = await generator.RunAsync(new HostPhases(
            BulkStarting: () =>
            {
                Console.WriteLine("@bulk-starting");
                Console.In.ReadLine();
            },
            BulkDone: () => Console.WriteLine("@bulk-done"),
            SinglePhase: starting => Console.WriteLine(starting ? "@single-start" : "@single-end"),
            WaitForRelay: () =>
            {
                Console.WriteLine("@wait-relay");
                var seconds = double.Parse(Console.In.ReadLine() ?? "0", CultureInfo.InvariantCulture);
                return Task.FromResult(TimeSpan.FromSeconds(seconds));
            }));
        Console.WriteLine("@report " + JsonSerializer.Serialize(report));
        return 0;
    }
}
