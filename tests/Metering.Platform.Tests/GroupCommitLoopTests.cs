using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Metering.Hosting.Data;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Metering.Platform.Tests;

/// <summary>
/// The group commit's loop on a real SQLite file: pipelined, a batch commits without the disk wait and its callers
/// are answered only once the write-ahead log has been flushed; refusals and hand-backs reach their own callers.
/// </summary>
public sealed class GroupCommitLoopTests
{
    [Fact]
    public async Task Pipelined_answers_wait_for_the_flush_of_the_log_that_holds_them()
    {
        using var folder = new TempFolder();
        await using var host = await PlatformHost.StartAsync(folder.File("group.db"), new PlatformHostOptions { RelayEnabled = false });
        var flush = new GatedFlush();
        var loop = new WidgetLoop(host.Services.GetRequiredService<IServiceScopeFactory>(), syncOutsideLock: true, flush);
        await loop.StartAsync(CancellationToken.None);

        var first = loop.AddAsync("first");
        await flush.Requested.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // Committed and visible, and the write lock is free for the next batch, but not yet answered.
        Assert.Equal(1, await host.InDbAsync(db => db.Widgets.CountAsync()));
        var second = loop.AddAsync("second");
        await WaitUntilAsync(() => loop.Committed == 2);
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);

        flush.Complete();
        Assert.Equal("first", (await first.WaitAsync(TimeSpan.FromSeconds(10)))!.Name);
        Assert.Equal("second", (await second.WaitAsync(TimeSpan.FromSeconds(10)))!.Name);
        await loop.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_failed_flush_answers_every_caller_of_its_batch_with_the_failure()
    {
        using var folder = new TempFolder();
        await using var host = await PlatformHost.StartAsync(folder.File("group.db"), new PlatformHostOptions { RelayEnabled = false });
        var flush = new GatedFlush();
        var loop = new WidgetLoop(host.Services.GetRequiredService<IServiceScopeFactory>(), syncOutsideLock: true, flush);
        await loop.StartAsync(CancellationToken.None);

        var answer = loop.AddAsync("lost?");
        await flush.Requested.Task.WaitAsync(TimeSpan.FromSeconds(10));
        flush.Fail(new IOException("disk gone"));

        var failure = await Assert.ThrowsAsync<IOException>(() => answer.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("not known to be durable", failure.Message);
        await loop.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Pipelined_on_sqlite_every_caller_is_answered_after_a_flush_of_its_database_log()
    {
        using var folder = new TempFolder();
        var file = folder.File($"group-{Guid.NewGuid():N}.db");
        await using var host = await PlatformHost.StartAsync(file, new PlatformHostOptions { RelayEnabled = false });
        using var flushes = new FlushWatch(Path.GetFileName(file));
        var loop = new WidgetLoop(host.Services.GetRequiredService<IServiceScopeFactory>(), syncOutsideLock: true);
        await loop.StartAsync(CancellationToken.None);

        var widgets = await Task.WhenAll(Enumerable.Range(1, 40).Select(i => Task.Run(() => loop.AddAsync($"widget {i}"))));
        await loop.StopAsync(CancellationToken.None);

        Assert.All(widgets, w => Assert.NotNull(w));
        Assert.Equal(40, await host.InDbAsync(db => db.Widgets.CountAsync()));
        Assert.NotEmpty(flushes.EndedAt);
        Assert.Equal(2, await SynchronousSettingAsync(host)); // FULL again on the pooled connection
    }

    [Fact]
    public async Task Without_pipelining_the_commit_waits_for_the_disk_itself_and_no_flush_is_made()
    {
        using var folder = new TempFolder();
        var file = folder.File($"group-{Guid.NewGuid():N}.db");
        await using var host = await PlatformHost.StartAsync(file, new PlatformHostOptions { RelayEnabled = false });
        using var flushes = new FlushWatch(Path.GetFileName(file));
        var loop = new WidgetLoop(host.Services.GetRequiredService<IServiceScopeFactory>(), syncOutsideLock: false);
        await loop.StartAsync(CancellationToken.None);

        var widgets = await Task.WhenAll(Enumerable.Range(1, 10).Select(i => loop.AddAsync($"widget {i}")));
        await loop.StopAsync(CancellationToken.None);

        Assert.All(widgets, w => Assert.NotNull(w));
        Assert.Equal(10, await host.InDbAsync(db => db.Widgets.CountAsync()));
        Assert.Empty(flushes.EndedAt);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Refusals_and_hand_backs_reach_their_own_callers_and_write_nothing(bool syncOutsideLock)
    {
        using var folder = new TempFolder();
        var file = folder.File($"group-{Guid.NewGuid():N}.db");
        await using var host = await PlatformHost.StartAsync(file, new PlatformHostOptions { RelayEnabled = false });
        var loop = new WidgetLoop(host.Services.GetRequiredService<IServiceScopeFactory>(), syncOutsideLock);
        await loop.StartAsync(CancellationToken.None);

        var accepted = loop.AddAsync("accepted");
        var refused = loop.AddAsync(WidgetLoop.Refused);
        var handedBack = loop.AddAsync(WidgetLoop.HandedBack);

        Assert.Equal("accepted", (await accepted)!.Name);
        var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => refused);
        Assert.Contains("refused", refusal.Message);
        Assert.Null(await handedBack);
        await loop.StopAsync(CancellationToken.None);
        Assert.Equal(["accepted"], await host.InDbAsync(db => db.Widgets.Select(w => w.Name).ToListAsync()));
    }

    [Fact]
    public async Task Concurrent_flushes_of_one_file_all_return_once_the_log_is_on_the_disk()
    {
        using var folder = new TempFolder();
        var file = folder.File($"group-{Guid.NewGuid():N}.db");
        await using var host = await PlatformHost.StartAsync(file, new PlatformHostOptions { RelayEnabled = false });
        using var flushes = new FlushWatch(Path.GetFileName(file));
        await host.CreateWidgetAsync("in the log");

        var sync = await host.InDbAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            return SqliteWalSync.For(db)!;
        });
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(sync.SyncAsync)));

        // Each caller either flushed or waited for a flush that started after it asked.
        Assert.InRange(flushes.EndedAt.Count, 1, 32);
    }

    [Fact]
    public async Task The_relay_flushes_the_log_before_it_publishes_what_it_claimed()
    {
        using var folder = new TempFolder();
        var file = folder.File($"relay-{Guid.NewGuid():N}.db");
        await using var host = await PlatformHost.StartAsync(file);
        using var flushes = new FlushWatch(Path.GetFileName(file));

        await host.CreateWidgetAsync("valve");
        await Eventually.Get(() => Task.FromResult(host.Probe.Published<WidgetCreated>().Count), n => n == 1,
            TimeSpan.FromSeconds(10), "the widget's event published");

        // A group commit may answer rows of a commit whose flush is still running: the relay publishes only after one.
        Assert.NotEmpty(flushes.EndedAt);
    }

    [Fact]
    public async Task Under_load_relay_passes_start_at_least_the_minimum_interval_apart()
    {
        using var folder = new TempFolder();
        await using var host = await PlatformHost.StartAsync(folder.File("relay.db"),
            new PlatformHostOptions { MinPassInterval = TimeSpan.FromMilliseconds(400) });

        // The first pass of a new host is slow (the bus, the JIT) and may take longer than the interval by itself.
        await host.CreateWidgetAsync("warm-up");
        await Eventually.Get(() => Task.FromResult(host.Probe.Published<WidgetCreated>().Count), n => n == 1,
            TimeSpan.FromSeconds(10), "the warm-up widget's event published");
        await Task.Delay(500);
        await host.CreateWidgetAsync("first");
        await Eventually.Get(() => Task.FromResult(host.Probe.Published<WidgetCreated>().Count), n => n == 2,
            TimeSpan.FromSeconds(10), "the first widget's event published");
        var firstPublished = Stopwatch.GetTimestamp();
        await host.CreateWidgetAsync("second");
        await Eventually.Get(() => Task.FromResult(host.Probe.Published<WidgetCreated>().Count), n => n == 3,
            TimeSpan.FromSeconds(10), "the second widget's event published");

        // The pass that published the first event started before it was seen; the next may start 400 ms after that.
        Assert.True(Stopwatch.GetElapsedTime(firstPublished) >= TimeSpan.FromMilliseconds(300),
            $"the relay started a second pass {Stopwatch.GetElapsedTime(firstPublished).TotalMilliseconds:F0} ms after one that published");
    }

    private static Task<long> SynchronousSettingAsync(PlatformHost host) => host.InDbAsync(async db =>
    {
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA synchronous;";
        return (long)(await command.ExecuteScalarAsync())!;
    });

    /// <summary>A group commit of widgets, the way a service's batcher writes its items.</summary>
    private sealed class WidgetLoop(IServiceScopeFactory scopes, bool syncOutsideLock, ILogFlush? flush = null)
        : GroupCommitLoop<string, Widget>(16)
    {
        private int _committed;

        public int Committed => Volatile.Read(ref _committed);

        public const string Refused = "refused";
        public const string HandedBack = "handed back";

        public Task<Widget?> AddAsync(string name) => SubmitAsync(name, CancellationToken.None);

        protected override async Task<ILogFlush?> WriteAsync(IReadOnlyList<Pending> batch, CancellationToken stoppingToken)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<TestDb>();
            await using var withoutSync = syncOutsideLock ? await SqliteCommitWithoutSync.BeginAsync(db, stoppingToken) : null;
            await using var transaction = await db.Database.BeginTransactionAsync(stoppingToken);
            foreach (var pending in batch)
            {
                switch (pending.Item)
                {
                    case Refused:
                        pending.Refuse(new InvalidOperationException("refused by the rules"));
                        break;
                    case HandedBack:
                        pending.HandBack();
                        break;
                    default:
                        var widget = new Widget { Name = pending.Item };
                        db.Widgets.Add(widget);
                        pending.Decide(widget);
                        break;
                }
            }
            await db.SaveChangesAsync(stoppingToken);
            ILogFlush? sync = withoutSync is null ? null : flush ?? withoutSync.LogFlush;
            await transaction.CommitAsync(stoppingToken);
            Interlocked.Increment(ref _committed);
            return sync;
        }
    }

    /// <summary>A log flush that ends when the test says so.</summary>
    private sealed class GatedFlush : ILogFlush
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Requested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task SyncAsync()
        {
            Requested.TrySetResult();
            return _done.Task;
        }

        public void Complete() => _done.TrySetResult();

        public void Fail(Exception failure) => _done.TrySetException(failure);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the loop did not commit in time");
            await Task.Delay(10);
        }
    }

    /// <summary>When each flush of one database's log ended, from the hosting's metric.</summary>
    private sealed class FlushWatch : IDisposable
    {
        private readonly MeterListener _listener = new();

        public FlushWatch(string databaseFileName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Metering" && instrument.Name == "metering.sqlite.wal_sync")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag is { Key: "db.namespace", Value: string name } && name == databaseFileName)
                        EndedAt.Add(Stopwatch.GetTimestamp());
            });
            _listener.Start();
        }

        public ConcurrentBag<long> EndedAt { get; } = [];

        public void Dispose() => _listener.Dispose();
    }
}
