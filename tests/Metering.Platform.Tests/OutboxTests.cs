using System.Diagnostics;
using System.Text.Json;
using Metering.Hosting.Messaging;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;

namespace Metering.Platform.Tests;

public sealed class OutboxTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly TempFolder _folder = new();

    private string Database => _folder.File("platform.db");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_state_change_and_its_event_commit_together()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });

        var row = await host.CreateWidgetAsync("valve", 7);

        var (widgets, rows) = await host.InDbAsync(async db =>
            (await db.Widgets.Select(w => w.Name).ToListAsync(), await db.OutboxMessages.AsNoTracking().ToListAsync()));
        Assert.Equal(["valve"], widgets);
        var stored = Assert.Single(rows);
        Assert.Equal(row.MessageId, stored.MessageId);
        Assert.NotEqual(Guid.Empty, stored.MessageId);
        Assert.Null(stored.SentAt);
        Assert.Null(stored.Destination);
        Assert.Equal(new WidgetCreated("valve", 7),
            JsonSerializer.Deserialize(stored.Body, Type.GetType(stored.MessageType, throwOnError: true)!));
    }

    [Fact]
    public async Task A_change_and_its_event_in_an_explicit_transaction_commit_together()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });

        await host.InDbAsync(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Widgets.Add(new Widget { Name = "meter" });
            await db.SaveChangesAsync();
            db.Publish(new WidgetCreated("meter", 1));
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
        });

        Assert.Equal((1, 1), await host.InDbAsync(async db => (await db.Widgets.CountAsync(), await db.OutboxMessages.CountAsync())));
    }

    [Fact]
    public async Task A_rollback_leaves_neither_the_change_nor_its_event()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });

        await host.InDbAsync(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Widgets.Add(new Widget { Name = "pipe" });
            db.Publish(new WidgetCreated("pipe", 1));
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
        });

        Assert.Equal((0, 0), await host.InDbAsync(async db => (await db.Widgets.CountAsync(), await db.OutboxMessages.CountAsync())));
        Assert.Equal(0, await host.Relay.PublishPendingAsync(CancellationToken.None));
        Assert.Empty(host.Probe.Published<WidgetCreated>());
    }

    [Fact]
    public async Task A_failed_save_writes_neither_the_change_nor_its_event()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });
        await host.InDbAsync(async db =>
        {
            db.Widgets.Add(new Widget { Id = 1, Name = "first" });
            await db.SaveChangesAsync();
        });

        await Assert.ThrowsAsync<DbUpdateException>(() => host.InDbAsync(async db =>
        {
            db.Widgets.Add(new Widget { Id = 1, Name = "duplicate key" });
            db.Publish(new WidgetCreated("duplicate key", 1));
            await db.SaveChangesAsync();
        }));

        Assert.Equal((1, 0), await host.InDbAsync(async db => (await db.Widgets.CountAsync(), await db.OutboxMessages.CountAsync())));
    }

    [Fact]
    public async Task An_event_committed_before_a_crash_is_published_once_after_restart_with_its_original_id()
    {
        OutboxMessage row;
        await using (var crashed = await PlatformHost.StartAsync(Database, new PlatformHostOptions
        {
            RelayEnabled = false,
            Consumers = bus => bus.AddServiceConsumer<WidgetCreatedWitness>("platform"),
        }))
        {
            row = await crashed.CreateWidgetAsync("survivor");
            Assert.Empty(crashed.Probe.Published<WidgetCreated>());
        }

        await using var restarted = await PlatformHost.StartAsync(Database, new PlatformHostOptions
        {
            Consumers = bus => bus.AddServiceConsumer<WidgetCreatedWitness>("platform"),
        });

        var consumed = await Eventually.Get(() => Task.FromResult(restarted.Probe.Consumed<WidgetCreated>()),
            c => c.Count > 0, Deadline, "the pending event to reach its consumer after restart");
        var sent = await Eventually.Get(() => restarted.OutboxRowAsync(row.Id), r => r.SentAt is not null, Deadline, "the row to be marked sent");

        Assert.Equal(0, await restarted.Relay.PublishPendingAsync(CancellationToken.None));
        var published = Assert.Single(restarted.Probe.Published<WidgetCreated>());
        Assert.Equal(row.MessageId, published.MessageId);
        Assert.Equal(new WidgetCreated("survivor", 1), published.Message);
        Assert.Equal(row.MessageId, Assert.Single(consumed).MessageId);
        Assert.Null(sent.LockToken);
        Assert.Equal(0, sent.Attempts);
    }

    [Fact]
    public async Task Events_pending_at_start_are_published_only_once_the_bus_has_started()
    {
        await PlatformHost.CreateDatabaseAsync($"Data Source={Database}");
        await using (var db = new TestDb(new DbContextOptionsBuilder<TestDb>().UseSqlite($"Data Source={Database}").Options))
        {
            for (var i = 1; i <= 20; i++)
                db.Publish(new WidgetCreated($"pending{i}", i));
            await db.SaveChangesAsync();
        }

        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions
        {
            Consumers = bus => bus.AddServiceConsumer<WidgetCreatedWitness>("platform"),
        });

        await Eventually.Get(() => Task.FromResult(host.Probe.Consumed<WidgetCreated>().Count), n => n == 20, Deadline, "all pending events consumed");
        Assert.Equal(0, host.Probe.PublishesBeforeBusStarted);
    }

    [Fact]
    public async Task Rows_written_in_bulk_inside_a_transaction_are_published_in_order_exactly_once()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });

        var queued = await host.InDbAsync(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Widgets.Add(new Widget { Name = "riser" });
            var rows = Enumerable.Range(1, 50).Select(i => db.Publish(new WidgetCreated($"unit{i}", i))).ToList();
            await db.WriteQueuedAsync(rows, CancellationToken.None);
            await db.SaveChangesAsync(); // must not write the rows a second time
            await transaction.CommitAsync();
            return rows;
        });

        Assert.Equal(50, await host.InDbAsync(db => db.OutboxMessages.CountAsync()));
        Assert.All(queued, row => Assert.True(row.Id > 0));
        Assert.Equal(50, await host.Relay.PublishPendingAsync(CancellationToken.None));
        var published = host.Probe.Published<WidgetCreated>();
        Assert.Equal(queued.Select(r => r.MessageId), published.Select(p => p.MessageId!.Value));
        Assert.Equal(Enumerable.Range(1, 50), published.Select(p => ((WidgetCreated)p.Message).Sequence));
        Assert.Equal(0, await host.Relay.PublishPendingAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_failed_publish_leaves_the_row_unsent_with_its_error_and_a_later_pass_sends_it()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });
        var row = await host.CreateWidgetAsync("flaky");
        host.Probe.FailNext(1);

        await Assert.ThrowsAnyAsync<Exception>(() => host.Relay.PublishPendingAsync(CancellationToken.None));

        var failed = await host.OutboxRowAsync(row.Id);
        Assert.Null(failed.SentAt);
        Assert.Equal(1, failed.Attempts);
        Assert.Contains("broker unreachable", failed.LastError);
        Assert.Null(failed.LockToken);
        Assert.Null(failed.LockedUntil);
        Assert.Empty(host.Probe.Published<WidgetCreated>());

        Assert.Equal(1, await host.Relay.PublishPendingAsync(CancellationToken.None));

        Assert.NotNull((await host.OutboxRowAsync(row.Id)).SentAt);
        Assert.Equal(row.MessageId, Assert.Single(host.Probe.Published<WidgetCreated>()).MessageId);
    }

    [Fact]
    public async Task The_running_relay_retries_a_failed_publish_until_it_is_sent()
    {
        await using var host = await PlatformHost.StartAsync(Database);
        host.Probe.FailNext(2);

        var row = await host.CreateWidgetAsync("flaky");

        var sent = await Eventually.Get(() => host.OutboxRowAsync(row.Id), r => r.SentAt is not null, Deadline, "the row to be sent after two failures");
        Assert.Equal(2, sent.Attempts);
        Assert.Contains("broker unreachable", sent.LastError);
        Assert.Equal(row.MessageId, Assert.Single(host.Probe.Published<WidgetCreated>()).MessageId);
    }

    [Fact]
    public async Task A_failure_in_the_middle_of_a_batch_keeps_what_was_sent_and_holds_back_the_rest_in_order()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });
        var rows = new List<OutboxMessage>();
        for (var i = 1; i <= 3; i++)
            rows.Add(await host.CreateWidgetAsync($"w{i}", i));
        host.Probe.FailNext(1, m => m is WidgetCreated { Sequence: 2 });

        await Assert.ThrowsAnyAsync<Exception>(() => host.Relay.PublishPendingAsync(CancellationToken.None));

        var after = await host.InDbAsync(db => db.OutboxMessages.AsNoTracking().OrderBy(m => m.Id).ToListAsync());
        Assert.NotNull(after[0].SentAt);
        Assert.Null(after[1].SentAt);
        Assert.Equal(1, after[1].Attempts);
        Assert.Null(after[2].SentAt);
        Assert.Equal(0, after[2].Attempts);
        Assert.All(after, r => Assert.Null(r.LockToken));

        Assert.Equal(2, await host.Relay.PublishPendingAsync(CancellationToken.None));
        Assert.Equal(rows.Select(r => r.MessageId), host.Probe.Published<WidgetCreated>().Select(p => p.MessageId!.Value));
    }

    [Fact]
    public async Task A_publish_refused_after_later_rows_went_out_marks_those_sent_and_retries_only_the_refused_row()
    {
        // Publishes overlap: row 3 is on its way before the refusal of row 2 comes back. Row 3 went out, so it is
        // marked sent (re-sending it would only cost the consumers an inbox look-up); row 2 is retried alone.
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });
        var rows = new List<OutboxMessage>();
        for (var i = 1; i <= 3; i++)
            rows.Add(await host.CreateWidgetAsync($"w{i}", i));
        host.Probe.FailNext(1, m => m is WidgetCreated { Sequence: 2 }, after: TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<Exception>(() => host.Relay.PublishPendingAsync(CancellationToken.None));

        var after = await host.InDbAsync(db => db.OutboxMessages.AsNoTracking().OrderBy(m => m.Id).ToListAsync());
        Assert.NotNull(after[0].SentAt);
        Assert.Null(after[1].SentAt);
        Assert.Equal(1, after[1].Attempts);
        Assert.Contains("broker unreachable", after[1].LastError);
        Assert.NotNull(after[2].SentAt);
        Assert.Equal(0, after[2].Attempts);
        Assert.All(after, r => Assert.Null(r.LockToken));

        Assert.Equal(1, await host.Relay.PublishPendingAsync(CancellationToken.None));
        Assert.Equal([rows[0].MessageId, rows[2].MessageId, rows[1].MessageId],
            host.Probe.Published<WidgetCreated>().Select(p => p.MessageId!.Value));
        Assert.Equal(0, await host.Relay.PublishPendingAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_pass_that_outlives_half_its_lease_stops_releases_the_rest_and_the_next_pass_sends_it()
    {
        // Each publish takes longer than half the lease, so every pass sends one row and releases the others
        // before the claim could run out and another replica publish them as well.
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions
        {
            RelayEnabled = false,
            Lease = TimeSpan.FromMilliseconds(100),
            MaxInFlight = 1,
        });
        var written = new List<Guid>();
        for (var i = 1; i <= 3; i++)
            written.Add((await host.CreateWidgetAsync($"slow{i}", i)).MessageId);
        host.Probe.DelayPublishes(TimeSpan.FromMilliseconds(80));

        var counts = new List<int>();
        int count;
        while ((count = await host.Relay.PublishPendingAsync(CancellationToken.None)) > 0)
            counts.Add(count);

        Assert.Equal([1, 1, 1], counts);
        Assert.Equal(written, host.Probe.Published<WidgetCreated>().Select(p => p.MessageId!.Value));
        var rows = await host.InDbAsync(db => db.OutboxMessages.AsNoTracking().ToListAsync());
        Assert.All(rows, r => Assert.True(r.SentAt is not null && r.LockToken is null && r.Attempts == 0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(64)]
    public async Task Publishing_one_at_a_time_or_overlapped_sends_the_same_rows_in_the_same_order(int maxInFlight)
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions
        {
            RelayEnabled = false,
            BatchSize = 30,
            MaxInFlight = maxInFlight,
        });
        var written = await host.InDbAsync(async db =>
        {
            var queued = Enumerable.Range(1, 100).Select(i => db.Publish(new WidgetCreated($"w{i}", i))).ToList();
            await db.SaveChangesAsync();
            return queued.Select(r => r.MessageId).ToList();
        });

        var counts = new List<int>();
        int count;
        while ((count = await host.Relay.PublishPendingAsync(CancellationToken.None)) > 0)
            counts.Add(count);

        Assert.Equal([30, 30, 30, 10], counts);
        var published = host.Probe.Published<WidgetCreated>();
        Assert.Equal(written, published.Select(p => p.MessageId!.Value));
        Assert.Equal(Enumerable.Range(1, 100), published.Select(p => ((WidgetCreated)p.Message).Sequence));
        var rows = await host.InDbAsync(db => db.OutboxMessages.AsNoTracking().ToListAsync());
        Assert.All(rows, r => Assert.True(r.SentAt is not null && r.LockToken is null && r.LockedUntil is null && r.Attempts == 0));
    }

    [Fact]
    public async Task Rows_are_published_in_the_order_they_were_written_across_batches()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false, BatchSize = 7 });
        var written = new List<Guid>();
        var sequence = 0;
        // Some rows one per transaction, some several in one SaveChanges.
        for (var round = 0; round < 5; round++)
        {
            written.Add((await host.CreateWidgetAsync($"single{round}", ++sequence)).MessageId);
            await host.InDbAsync(async db =>
            {
                for (var i = 0; i < 3; i++)
                    written.Add(db.Publish(new WidgetCreated($"many{round}.{i}", ++sequence)).MessageId);
                await db.SaveChangesAsync();
            });
        }

        var counts = new List<int>();
        int count;
        while ((count = await host.Relay.PublishPendingAsync(CancellationToken.None)) > 0)
            counts.Add(count);

        Assert.Equal([7, 7, 6], counts);
        var published = host.Probe.Published<WidgetCreated>();
        Assert.Equal(written, published.Select(p => p.MessageId!.Value));
        Assert.Equal(Enumerable.Range(1, 20), published.Select(p => ((WidgetCreated)p.Message).Sequence));
    }

    [Fact]
    public async Task A_row_claimed_by_a_relay_that_died_waits_for_its_lease_and_is_then_published()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions
        {
            RelayEnabled = false,
            Clock = clock,
            Lease = TimeSpan.FromSeconds(30),
        });
        var row = await host.CreateWidgetAsync("orphan");
        // What the claim of a relay that died right after it leaves behind: its token and a lease of 30 s.
        var deadRelay = Guid.NewGuid();
        var leaseEnd = clock.GetUtcNow().UtcDateTime.AddSeconds(30);
        await host.InDbAsync(db => db.OutboxMessages.Where(m => m.Id == row.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.LockToken, deadRelay).SetProperty(m => m.LockedUntil, leaseEnd)));

        Assert.Equal(0, await host.Relay.PublishPendingAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await host.Relay.PublishPendingAsync(CancellationToken.None));
        var held = await host.OutboxRowAsync(row.Id);
        Assert.Equal(deadRelay, held.LockToken);
        Assert.Null(held.SentAt);
        Assert.Empty(host.Probe.Published<WidgetCreated>());

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await host.Relay.PublishPendingAsync(CancellationToken.None));

        var sent = await host.OutboxRowAsync(row.Id);
        Assert.NotNull(sent.SentAt);
        Assert.Null(sent.LockToken);
        Assert.Equal(row.MessageId, Assert.Single(host.Probe.Published<WidgetCreated>()).MessageId);
    }

    [Fact]
    public async Task Sent_rows_are_marked_and_not_sent_again()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false });
        var row = await host.CreateWidgetAsync("once");

        Assert.Equal(1, await host.Relay.PublishPendingAsync(CancellationToken.None));
        var sent = await host.OutboxRowAsync(row.Id);
        Assert.NotNull(sent.SentAt);
        Assert.Null(sent.LockToken);
        Assert.Null(sent.LockedUntil);

        Assert.Equal(0, await host.Relay.PublishPendingAsync(CancellationToken.None));
        Assert.Single(host.Probe.Published<WidgetCreated>());
    }

    [Fact]
    public async Task Two_replicas_relaying_the_same_outbox_publish_each_row_once()
    {
        await using var first = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false, BatchSize = 5 });
        await using var second = await PlatformHost.StartAsync(Database, new PlatformHostOptions { RelayEnabled = false, BatchSize = 5 });
        var written = new List<Guid>();
        for (var i = 1; i <= 40; i++)
            written.Add((await (i % 2 == 0 ? first : second).CreateWidgetAsync($"w{i}", i)).MessageId);

        async Task DrainAsync(PlatformHost host)
        {
            var deadline = DateTime.UtcNow + Deadline;
            while (DateTime.UtcNow < deadline
                   && await host.InDbAsync(db => db.OutboxMessages.AnyAsync(m => m.SentAt == null)))
                await host.Relay.PublishPendingAsync(CancellationToken.None);
        }
        await Task.WhenAll(Task.Run(() => DrainAsync(first)), Task.Run(() => DrainAsync(second)));

        var published = first.Probe.Published<WidgetCreated>().Concat(second.Probe.Published<WidgetCreated>())
            .Select(p => p.MessageId!.Value).ToList();
        Assert.Equal(written.Order(), published.Order());
        Assert.Equal(0, await first.InDbAsync(db => db.OutboxMessages.CountAsync(m => m.SentAt == null)));
    }

    [Fact]
    public async Task A_commit_wakes_the_relay_long_before_its_poll_interval()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { PollInterval = TimeSpan.FromMinutes(5) });
        // The first event may be found by the relay's first pass at start; the ones after it need the signal.
        await host.CreateWidgetAsync("first", 1);
        await Eventually.Get(() => Task.FromResult(host.Probe.Published<WidgetCreated>().Count), n => n == 1, Deadline, "the first event");

        var clock = Stopwatch.StartNew();
        await host.CreateWidgetAsync("second", 2);
        await Eventually.Get(() => Task.FromResult(host.Probe.Published<WidgetCreated>().Count), n => n == 2, Deadline, "an event saved without a transaction");
        var afterSave = clock.Elapsed;

        clock.Restart();
        await host.InDbAsync(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Widgets.Add(new Widget { Name = "third" });
            db.Publish(new WidgetCreated("third", 3));
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
        });
        await Eventually.Get(() => Task.FromResult(host.Probe.Published<WidgetCreated>().Count), n => n == 3, Deadline, "an event committed in a transaction");
        var afterCommit = clock.Elapsed;

        Assert.True(afterSave < TimeSpan.FromSeconds(5), $"published {afterSave} after SaveChanges");
        Assert.True(afterCommit < TimeSpan.FromSeconds(5), $"published {afterCommit} after commit");
    }

    [Fact]
    public async Task A_sent_command_reaches_its_queue_with_the_row_message_id()
    {
        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions
        {
            Consumers = bus => bus.AddServiceConsumer<WidgetWorkConsumer>("platform"),
        });

        var row = await host.InDbAsync(async db =>
        {
            var queued = db.Send(new WidgetWork("chunk-1"), "platform");
            await db.SaveChangesAsync();
            return queued;
        });

        var consumed = await Eventually.Get(() => Task.FromResult(host.Probe.Consumed<WidgetWork>()), c => c.Count > 0, Deadline, "the work item");
        Assert.Equal("queue:platform", row.Destination);
        Assert.Equal(row.MessageId, Assert.Single(consumed).MessageId);
        Assert.Equal(row.MessageId, Assert.Single(host.Probe.Sent<WidgetWork>()).MessageId);
    }

    [Fact]
    public async Task Old_sent_rows_and_inbox_records_are_cleaned_up_and_unsent_rows_are_kept()
    {
        var longAgo = DateTime.UtcNow.AddDays(-30);
        var recently = DateTime.UtcNow.AddHours(-1);
        await PlatformHost.CreateDatabaseAsync($"Data Source={Database}");
        await using (var db = new TestDb(new DbContextOptionsBuilder<TestDb>().UseSqlite($"Data Source={Database}").Options))
        {
            OutboxMessage Row(string name, DateTime created, DateTime? sent) => new()
            {
                MessageId = Guid.NewGuid(),
                MessageType = $"{typeof(WidgetCreated).FullName}, {typeof(WidgetCreated).Assembly.GetName().Name}",
                Body = JsonSerializer.Serialize(new WidgetCreated(name, 1)),
                CreatedAt = created,
                SentAt = sent,
            };
            db.OutboxMessages.AddRange(Row("old-sent", longAgo, longAgo), Row("old-unsent", longAgo, null), Row("recent-sent", recently, recently));
            db.ProcessedMessages.AddRange(
                new ProcessedMessage { MessageId = Guid.NewGuid(), Consumer = "old", ProcessedAt = longAgo },
                new ProcessedMessage { MessageId = Guid.NewGuid(), Consumer = "recent", ProcessedAt = recently });
            await db.SaveChangesAsync();
        }

        await using var host = await PlatformHost.StartAsync(Database, new PlatformHostOptions { Retention = TimeSpan.FromDays(7) });

        var (outbox, inbox) = await Eventually.Get(
            () => host.InDbAsync(async db => (
                await db.OutboxMessages.AsNoTracking().OrderBy(m => m.Id).ToListAsync(),
                await db.ProcessedMessages.Select(p => p.Consumer).ToListAsync())),
            r => r.Item1.Count == 2 && r.Item1.All(m => m.SentAt is not null) && r.Item2.Count == 1,
            Deadline, "the clean-up and the publish of the old unsent row");

        Assert.Equal(["old-unsent", "recent-sent"], outbox.Select(m => JsonSerializer.Deserialize<WidgetCreated>(m.Body)!.Name));
        Assert.Equal(["recent"], inbox);
    }
}
