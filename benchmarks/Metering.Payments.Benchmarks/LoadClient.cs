using System.Diagnostics;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Metering.Contracts.Payments.V1;
using Metering.Domain;
using PaymentsClient = Metering.Contracts.Payments.V1.Payments.PaymentsClient;

/// <summary>
/// The load generator in a process of its own (<c>--client</c>), started by the benchmark as a child, so
/// that the host's CPU per request is measured apart from the client's. The seeded user numbers are
/// derived from the account count, so the child needs no list from the host.
/// </summary>
internal static class LoadClient
{
    public const string ReadyLine = "CLIENT-MEASURING";
    public const string ResultLine = "CLIENT-RESULT";
    public const string NoteLine = "CLIENT-NOTE";

    /// <summary>The child's side: warm up, say when the measured phase starts, run it, print the result.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        string Text(string name) => args[Array.IndexOf(args, name) + 1];
        int Int(string name) => int.Parse(Text(name), CultureInfo.InvariantCulture);
        var port = Int("--client");
        var mode = Text("--mode");
        var accounts = Int("--accounts");
        var concurrency = Int("--concurrency");
        var connections = Int("--connections");
        var seconds = Int("--seconds");
        var rate = Int("--rate");
        var runId = Text("--run");
        var warmUpSeconds = Int("--warmup");

        var userNumbers = Enumerable.Range(0, accounts).Select(i => UserNumber.FromBody(100_000_000 + i).Value).ToArray();
        var channels = Enumerable.Range(0, connections).Select(_ => GrpcChannel.ForAddress($"http://127.0.0.1:{port}",
            new GrpcChannelOptions
            {
                HttpHandler = new ApiKeyHandler("dev-wechat.wechat-dev-secret")
                {
                    InnerHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
                },
            })).ToArray();
        var clients = channels.Select(c => new PaymentsClient(c)).ToArray();
        var paidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1));
        string RandomUser() => userNumbers[Random.Shared.Next(userNumbers.Length)];

        Func<int, int, Task> call = mode switch
        {
            "balance" => (worker, _) => clients[worker % clients.Length]
                .GetBalanceAsync(new GetBalanceRequest { UserNumber = RandomUser() }).ResponseAsync,
            "post" => (worker, sequence) => clients[worker % clients.Length].PostPaymentAsync(new PostPaymentRequest
            {
                UserNumber = RandomUser(),
                Channel = "wechat",
                ChannelTransactionId = $"bench-{runId}-{worker}-{sequence}",
                AmountFen = 1_000,
                PaidAt = paidAt,
            }).ResponseAsync,
            _ => throw new ArgumentException($"--mode {mode}: balance or post"),
        };

        // Warm-up with ids of its own, the same load as measured: connections, and both processes' JIT past its
        // tiers (the runtime recompiles hot code for seconds after a new kind of request starts; a service that has
        // been up for minutes has done so). The host reports what its JIT still compiled during the measured phase.
        var warmUp = rate > 0
            ? Measure.OpenLoopAsync(concurrency, rate, TimeSpan.FromSeconds(warmUpSeconds), (w, s) => call(w, s + 1_000_000_000))
            : Measure.RunAsync(concurrency, TimeSpan.FromSeconds(warmUpSeconds), async (w, s) => { await call(w, s + 1_000_000_000); return 0; });
        await warmUp;
        Console.WriteLine(ReadyLine);
        var result = rate > 0
            ? await Measure.OpenLoopAsync(concurrency, rate, TimeSpan.FromSeconds(seconds), call)
            : await Measure.RunAsync(concurrency, TimeSpan.FromSeconds(seconds), async (w, s) => { await call(w, s); return 0; });
        if (rate > 0)
        {
            var late = Measure.Lateness.Order().ToArray();
            double At(double p) => late.Length == 0 ? 0 : late[Math.Min(late.Length - 1, (int)Math.Ceiling(p * late.Length) - 1)];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{NoteLine} requests sent after their due time by p50 {At(0.5):F2} ms, p95 {At(0.95):F2} ms, p99 {At(0.99):F2} ms, max {(late.Length == 0 ? 0 : late[^1]):F2} ms"));
        }
        Console.WriteLine($"{ResultLine} {result.Serialize()}");
        foreach (var channel in channels)
            channel.Dispose();
        return 0;
    }

    /// <summary>The host's side: runs a child client and measures this process's CPU over its measured phase only.</summary>
    public static async Task<(Measurement Client, HostShare Host)> DriveAsync(
        int port, string mode, int rate, BenchmarkOptions options, string runId)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true };
        // Under `dotnet Metering.Payments.Benchmarks.dll` the path is the muxer: pass the assembly too.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            start.ArgumentList.Add(typeof(LoadClient).Assembly.Location);
        foreach (var argument in new[]
                 {
                     "--client", port.ToString(CultureInfo.InvariantCulture), "--mode", mode,
                     "--accounts", options.Accounts.ToString(CultureInfo.InvariantCulture),
                     "--concurrency", options.Concurrency.ToString(CultureInfo.InvariantCulture),
                     "--connections", options.Connections.ToString(CultureInfo.InvariantCulture),
                     "--seconds", options.Seconds.ToString(CultureInfo.InvariantCulture),
                     "--rate", rate.ToString(CultureInfo.InvariantCulture), "--run", runId,
                     "--warmup", options.WarmUpSeconds.ToString(CultureInfo.InvariantCulture),
                 })
            start.ArgumentList.Add(argument);
        // The client is a plain workstation-GC process: it should not take the host's cores for its heaps.
        start.Environment["DOTNET_gcServer"] = "0";
        // Not the profiler's port, when the host runs under dotnet-trace.
        start.Environment.Remove("DOTNET_DiagnosticPorts");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("the client did not start");
        HostShare? atStart = null;
        Measurement? measured = null;
        HostShare host = default;
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line == ReadyLine)
            {
                atStart = HostShare.Now();
                HostWatch.Reset();
            }
            else if (line.StartsWith(NoteLine, StringComparison.Ordinal))
                Console.WriteLine($"{runId}: load generator: {line[(NoteLine.Length + 1)..]}");
            else if (line.StartsWith(ResultLine, StringComparison.Ordinal))
            {
                host = HostShare.Now() - (atStart ?? default);
                Console.WriteLine($"{runId}: {HostWatch.Describe()}");
                measured = Measurement.Deserialize(line[(ResultLine.Length + 1)..]);
            }
        }
        await process.WaitForExitAsync();
        return (measured ?? throw new InvalidOperationException($"the {mode} client exited ({process.ExitCode}) without a result"), host);
    }
}

/// <summary>This (the host's) process's CPU, JIT work and garbage collections, as counters to subtract.</summary>
internal readonly record struct HostShare(TimeSpan Cpu, long JitMethods, TimeSpan JitTime, int Gen0, int Gen1, int Gen2, TimeSpan GcPause, long Allocated,
    long Batches, long BatchItems, long Flushes)
{
    public static HostShare Now()
    {
        using var self = Process.GetCurrentProcess();
        return new HostShare(self.TotalProcessorTime, System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime(),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(),
            Interlocked.Read(ref HostWatch.Batches), Interlocked.Read(ref HostWatch.BatchItems), Interlocked.Read(ref HostWatch.Flushes));
    }

    public static HostShare operator -(HostShare end, HostShare start) =>
        new(end.Cpu - start.Cpu, end.JitMethods - start.JitMethods, end.JitTime - start.JitTime,
            end.Gen0 - start.Gen0, end.Gen1 - start.Gen1, end.Gen2 - start.Gen2, end.GcPause - start.GcPause, end.Allocated - start.Allocated,
            end.Batches - start.Batches, end.BatchItems - start.BatchItems, end.Flushes - start.Flushes);
}

/// <summary>What the host (this process) did during a measured phase, from its metrics: group commits, log flushes, each stage of a posting, Kestrel's request durations, and a thread-pool dispatch probe.</summary>
internal static class HostWatch
{
    public static long Batches;
    public static long BatchItems;
    public static long Flushes;

    private static readonly System.Diagnostics.Metrics.MeterListener Listener = new();

    public static void Start()
    {
        Listener.InstrumentPublished = (instrument, listener) =>
        {
            if ((instrument.Meter.Name == "Metering" && instrument.Name is "metering.group_commit.batch_size" or "metering.sqlite.wal_sync" or "metering.group_commit.write"
                    or "metering.group_commit.queued" or "metering.group_commit.item_latency")
                || (instrument.Meter.Name == "Microsoft.AspNetCore.Hosting" && instrument.Name == "http.server.request.duration"))
                listener.EnableMeasurementEvents(instrument);
        };
        Listener.SetMeasurementEventCallback<int>((_, size, _, _) =>
        {
            Interlocked.Increment(ref Batches);
            Interlocked.Add(ref BatchItems, size);
        });
        Listener.SetMeasurementEventCallback<double>((instrument, milliseconds, _, _) =>
        {
            if (instrument.Name == "http.server.request.duration")
                ServerTimes.Enqueue(milliseconds * 1000); // this one is in seconds
            else if (instrument.Name == "metering.group_commit.queued")
                QueuedTimes.Enqueue(milliseconds);
            else if (instrument.Name == "metering.group_commit.item_latency")
                ItemTimes.Enqueue(milliseconds);
            else if (instrument.Name == "metering.sqlite.wal_sync")
            {
                Interlocked.Increment(ref Flushes);
                FlushTimes.Enqueue(milliseconds);
            }
            else
                WriteTimes.Enqueue(milliseconds);
        });
        Listener.Start();
        new Thread(ProbeThreadPool) { IsBackground = true, Name = "thread-pool probe" }.Start();
    }

    // Every 5 ms, how long a work item queued to the thread pool waits before it runs: the queueing that
    // every hop of a request (Kestrel, gRPC, the awaits of the handler) pays on a busy machine.
    private static void ProbeThreadPool()
    {
        using var ran = new ManualResetEventSlim();
        while (true)
        {
            Thread.Sleep(5);
            ran.Reset();
            var queued = Stopwatch.GetTimestamp();
            ThreadPool.UnsafeQueueUserWorkItem(_ =>
            {
                PoolDelays.Enqueue(Stopwatch.GetElapsedTime(queued).TotalMilliseconds);
                ran.Set();
            }, null);
            ran.Wait();
        }
    }

    private static System.Collections.Concurrent.ConcurrentQueue<double> FlushTimes = new();
    private static System.Collections.Concurrent.ConcurrentQueue<double> WriteTimes = new();
    private static System.Collections.Concurrent.ConcurrentQueue<double> ServerTimes = new();
    private static System.Collections.Concurrent.ConcurrentQueue<double> PoolDelays = new();
    private static System.Collections.Concurrent.ConcurrentQueue<double> QueuedTimes = new();
    private static System.Collections.Concurrent.ConcurrentQueue<double> ItemTimes = new();

    /// <summary>Starts collecting the durations of flushes and of group commits' lock-held writes afresh.</summary>
    public static void Reset()
    {
        FlushTimes = new();
        WriteTimes = new();
        ServerTimes = new();
        PoolDelays = new();
        QueuedTimes = new();
        ItemTimes = new();
    }

    /// <summary>p50/p99/max of the log flushes and of the group commits' writes since <see cref="Reset"/>.</summary>
    public static string Describe()
    {
        static string Of(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            if (sorted.Length == 0)
                return "none";
            double At(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
            return string.Create(CultureInfo.InvariantCulture, $"{sorted.Length:N0}, p50 {At(0.5):F2} ms, p95 {At(0.95):F2} ms, p99 {At(0.99):F2} ms, max {sorted[^1]:F2} ms");
        }
        return $"log flushes {Of(FlushTimes)}; group commits holding the write lock {Of(WriteTimes)}; " +
               $"postings queued for their group commit {Of(QueuedTimes)}; postings from queued to answered {Of(ItemTimes)}; " +
               $"requests as the host's Kestrel timed them {Of(ServerTimes)}; thread-pool dispatch delay {Of(PoolDelays)}";
    }
}
