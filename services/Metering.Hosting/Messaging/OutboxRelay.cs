using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using MassTransit;
using Metering.Hosting.Data;
using Metering.Hosting.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Metering.Hosting.Messaging;

public sealed class OutboxOptions
{
    /// <summary>False only in tests that need committed-but-unpublished rows (a crash before the relay ran).</summary>
    public bool RelayEnabled { get; set; } = true;

    /// <summary>Rows claimed per pass. They are streamed, so large events do not all sit in memory at once.</summary>
    public int BatchSize { get; set; } = 1000;

    /// <summary>
    /// Publishes started before the oldest is awaited: on RabbitMQ their publisher confirms overlap. 1 publishes
    /// strictly one after another.
    /// </summary>
    public int MaxInFlight { get; set; } = 64;

    /// <summary>
    /// Under load, passes start at least this far apart (from the start of one that published to the start of the
    /// next): a pass costs a claim and a mark (two writes that take SQLite's lock) and a log flush whatever its size,
    /// and a relay woken by every commit ran dozens of three-row passes a second, on the cores the requests need.
    /// An idle relay still starts at once when a commit signals. Zero: every signal starts a pass.
    /// </summary>
    public TimeSpan MinPassInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Fallback poll when no commit signalled (rows written by another replica, or a failed publish).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a relay owns claimed rows; a relay that dies leaves them to another after this.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// True: the row's stored JSON body goes into MassTransit's envelope as it is (<see cref="StoredBodySerializer"/>).
    /// False: the body is deserialised and MassTransit serialises the message again, as before 2026-11-29; for
    /// comparison (the relay benchmark's <c>--reserialize</c>) or should a bus ever need another serializer.
    /// </summary>
    public bool PublishStoredBody { get; set; } = true;

    /// <summary>Sent rows and inbox records older than this are deleted.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
}

public static class OutboxRelayRegistration
{
    public static IServiceCollection AddOutboxRelay<TContext>(this IServiceCollection services, IConfiguration configuration)
        where TContext : MessagingDbContext
    {
        services.AddOptions<OutboxOptions>().Bind(configuration.GetSection("Outbox"));
        // The relay's clock (leases, clean-up); a module or a test may register its own.
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<OutboxRelay<TContext>>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay<TContext>>());
        return services;
    }
}

/// <summary>
/// Publishes committed outbox rows and marks them sent. A crash between commit and publish loses
/// nothing (the rows wait); a crash after publish re-sends with the same message id, which the
/// consumers' inbox turns into a no-op.
/// </summary>
public sealed class OutboxRelay<TContext>(
    IServiceScopeFactory scopes,
    IBus bus,
    OutboxSignal<TContext> signal,
    Microsoft.Extensions.Options.IOptions<OutboxOptions> options,
    TimeProvider clock,
    ILogger<OutboxRelay<TContext>> logger) : BackgroundService
    where TContext : MessagingDbContext
{
    private readonly OutboxOptions _options = options.Value;
    private bool _passCutShort;
    private bool _morePending;
    private DateTime _nextCleanup = DateTime.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.RelayEnabled)
        {
            logger.LogWarning("Outbox relay of {Context} is disabled: events stay unpublished", typeof(TContext).Name);
            return;
        }

        try
        {
            await WhenHostStartedAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Real time, not the relay's clock: tests replace that one to move leases, and it may stand still.
                var passStarted = Stopwatch.GetTimestamp();
                var published = await PublishPendingAsync(stoppingToken);
                await CleanUpAsync(stoppingToken);
                failures = 0;
                if (published >= _options.BatchSize || _passCutShort)
                    continue;
                if (published > 0 && _options.MinPassInterval - Stopwatch.GetElapsedTime(passStarted) is { Ticks: > 0 } rest)
                    await Task.Delay(rest, stoppingToken);
                await signal.WaitAsync(_options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 200 * Math.Pow(2, Math.Min(failures, 8))));
                logger.LogError(ex, "Outbox relay of {Context} failed; retrying in {Delay}", typeof(TContext).Name, delay);
                try { await Task.Delay(delay, stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    /// <summary>
    /// Waits until every hosted service has started, the bus included: the bus binds its queues while it
    /// starts, and rows still pending from before a restart would otherwise be published (and marked
    /// sent) before any queue is there to receive them.
    /// </summary>
    private async Task WhenHostStartedAsync(CancellationToken stoppingToken)
    {
        IHostApplicationLifetime? lifetime;
        using (var scope = scopes.CreateScope())
            lifetime = scope.ServiceProvider.GetService<IHostApplicationLifetime>();
        if (lifetime is null || lifetime.ApplicationStarted.IsCancellationRequested)
            return;

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
    }

    /// <summary>
    /// Claims one batch of unsent rows, publishes them in order and marks them sent. Returns how many were sent.
    /// Publishes are started in row order and awaited together (at most <see cref="OutboxOptions.MaxInFlight"/>
    /// at a time), so a broker's confirms overlap instead of costing a round trip each.
    /// </summary>
    public async Task<int> PublishPendingAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var now = clock.GetUtcNow().UtcDateTime;
        var token = Guid.NewGuid();
        var leaseEnd = now + _options.Lease;
        var batchSize = _options.BatchSize;
        _passCutShort = false;

        // An idle relay only reads: the claim is a write, and on SQLite it would queue behind (and hold up) the
        // service's own writers on every poll. Right after a full pass more rows are known to wait.
        if (!_morePending && !await db.OutboxMessages
                .AnyAsync(m => m.SentAt == null && (m.LockedUntil == null || m.LockedUntil < now), cancellationToken))
            return 0;

        await using var withoutSync = await SqliteCommitWithoutSync.BeginAsync(db, cancellationToken);

        // One statement picks the oldest free rows and claims them; the condition is checked again on each row
        // it updates, so two relays never both own a row.
        var claimedCount = await db.OutboxMessages
            .Where(m => db.OutboxMessages
                    .Where(c => c.SentAt == null && (c.LockedUntil == null || c.LockedUntil < now))
                    .OrderBy(c => c.Id)
                    .Take(batchSize)
                    .Select(c => c.Id)
                    .Contains(m.Id)
                && m.SentAt == null && (m.LockedUntil == null || m.LockedUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.LockToken, token).SetProperty(m => m.LockedUntil, leaseEnd),
                cancellationToken);
        _morePending = claimedCount >= batchSize;
        if (claimedCount == 0)
            return 0;
        // Publish only what is on the disk: a group commit answers after flushing the log outside the write lock,
        // so a claimed row may belong to a commit whose flush is still running (SQLite; a shared flush, see there).
        if (withoutSync.LogFlush is { } wal)
            await wal.SyncAsync();

        var batch = new RelayBatch(_options.MaxInFlight);
        var started = clock.GetTimestamp();
        var startedRows = 0;
        try
        {
            // Streamed, not listed: a batch of large events (a bulk load's) never sits in memory all at once.
            // "SentAt == null" keeps these look-ups on the (SentAt, Id) index: the table also holds days of sent rows.
            var claimed = db.OutboxMessages.AsNoTracking()
                .Where(m => m.SentAt == null && m.LockToken == token)
                .OrderBy(m => m.Id)
                .AsAsyncEnumerable();
            await foreach (var row in claimed.WithCancellation(cancellationToken))
            {
                // Half the lease at most: the claim must not run out while rows of it are still to be published,
                // or another replica would publish them too. The rest is released and the next pass follows at once.
                if (startedRows > 0 && clock.GetElapsedTime(started) > _options.Lease / 2)
                {
                    _passCutShort = _morePending = true;
                    break;
                }
                startedRows++;
                if (!batch.Start(row, PublishAsync(row, cancellationToken)))
                    break;
                if (batch.IsFull)
                    await batch.CompleteOldestAsync();
            }
        }
        finally
        {
            // Publishes already started finish (or fail) before anything is marked, even when stopping.
            await batch.CompleteAllAsync();
            await MarkAsync(db, token, claimedCount, batch);
        }

        RecordMetrics(batch.Sent);
        (batch.Failure ?? batch.Canceled)?.Throw();
        return batch.Sent.Count;
    }

    /// <summary>
    /// Whatever was published is marked sent, even when a later row failed or we are stopping; the first row
    /// that failed gets an attempt and its error; every other claimed row is released for the next pass.
    /// </summary>
    private async Task MarkAsync(TContext db, Guid token, int claimedCount, RelayBatch batch)
    {
        var sentAt = clock.GetUtcNow().UtcDateTime;
        if (batch.Sent.Count == claimedCount)
        {
            // The usual case: the whole claim went out, so the token names the rows and no list is sent.
            await db.OutboxMessages.Where(m => m.SentAt == null && m.LockToken == token)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(m => m.SentAt, sentAt)
                    .SetProperty(m => m.LockToken, (Guid?)null)
                    .SetProperty(m => m.LockedUntil, (DateTime?)null), CancellationToken.None);
            return;
        }

        foreach (var chunk in batch.Sent.Select(r => r.Id).Chunk(500))
            await db.OutboxMessages.Where(m => chunk.Contains(m.Id) && m.SentAt == null && m.LockToken == token)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(m => m.SentAt, sentAt)
                    .SetProperty(m => m.LockToken, (Guid?)null)
                    .SetProperty(m => m.LockedUntil, (DateTime?)null), CancellationToken.None);
        if (batch.FailedRow is { } failed && batch.Failure is { } failure)
        {
            var message = failure.SourceException.Message;
            var error = message.Length > 2000 ? message[..2000] : message;
            await db.OutboxMessages.Where(m => m.Id == failed && m.SentAt == null && m.LockToken == token)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(m => m.Attempts, m => m.Attempts + 1)
                    .SetProperty(m => m.LastError, error)
                    .SetProperty(m => m.LockToken, (Guid?)null)
                    .SetProperty(m => m.LockedUntil, (DateTime?)null), CancellationToken.None);
        }
        await db.OutboxMessages.Where(m => m.LockToken == token && m.SentAt == null)
            .ExecuteUpdateAsync(s => s
                .SetProperty(m => m.LockToken, (Guid?)null)
                .SetProperty(m => m.LockedUntil, (DateTime?)null), CancellationToken.None);
    }

    private void RecordMetrics(IReadOnlyList<SentRow> sent)
    {
        if (sent.Count == 0)
            return;
        if (OutboxMetrics.Published.Enabled)
            foreach (var group in sent.GroupBy(r => r.MessageType))
                OutboxMetrics.Published.Add(group.Count(), new KeyValuePair<string, object?>("message_type", ShortName(group.Key)));
        if (OutboxMetrics.Lag.Enabled)
        {
            var publishedAt = clock.GetUtcNow().UtcDateTime;
            foreach (var row in sent)
                OutboxMetrics.Lag.Record((publishedAt - row.CreatedAt).TotalMilliseconds);
        }
    }

    private async Task PublishAsync(OutboxMessage row, CancellationToken cancellationToken)
    {
        var type = MessageTypes.GetOrAdd(row.MessageType, static name => Type.GetType(name, throwOnError: true)!);
        // The stored body goes out as it is; MassTransit's pipeline then only needs an object of the type, so the
        // body is deserialised only for the types whose fields MassTransit reads (correlation ids).
        var serializer = _options.PublishStoredBody ? StoredBodySerializer.For(row) : null;
        var message = (serializer is null ? null : RelayMessages.Placeholder(type))
            ?? JsonSerializer.Deserialize(row.Body, type, Outbox.Json)
            ?? throw new InvalidOperationException($"outbox row {row.Id} has an empty body");

        // Continue the trace of the request that wrote the row: the bus propagates it to consumers.
        // Without a listener there is no span to make, and the traceparent need not be parsed.
        using var activity = MeteringTelemetry.Source.HasListeners() ? StartActivity(row) : null;

        if (row.Destination is null)
        {
            await bus.Publish(message, type, context => Prepare(context, row, serializer), cancellationToken);
        }
        else
        {
            var endpoint = await bus.GetSendEndpoint(new Uri(row.Destination));
            await endpoint.Send(message, type, context => Prepare(context, row, serializer), cancellationToken);
        }
    }

    private static void Prepare(SendContext context, OutboxMessage row, StoredBodySerializer? serializer)
    {
        context.MessageId = row.MessageId;
        if (serializer is not null)
            context.Serializer = serializer;
    }

    private static Activity? StartActivity(OutboxMessage row)
    {
        ActivityContext.TryParse(row.TraceParent, null, out var parent);
        var activity = MeteringTelemetry.Source.StartActivity(
            $"outbox publish {ShortName(row.MessageType)}", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.message.id", row.MessageId);
        activity?.SetTag("metering.outbox.row", row.Id);
        return activity;
    }

    // Type.GetType parses the name and searches the assemblies on every call; a relay sees a handful of types.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Type> MessageTypes = new();

    private async Task CleanUpAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (now < _nextCleanup)
            return;
        _nextCleanup = now.AddMinutes(10);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var before = now - _options.Retention;
        await db.OutboxMessages.Where(m => m.SentAt != null && m.SentAt < before).ExecuteDeleteAsync(cancellationToken);
        await db.ProcessedMessages.Where(m => m.ProcessedAt < before).ExecuteDeleteAsync(cancellationToken);
    }

    private static string ShortName(string messageType) =>
        ShortNames.GetOrAdd(messageType, static name =>
        {
            var comma = name.IndexOf(',');
            var fullName = comma < 0 ? name : name[..comma];
            return fullName[(fullName.LastIndexOf('.') + 1)..];
        });

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> ShortNames = new();
}

/// <summary>What the relay keeps of a published row: enough to mark it and to record its metrics.</summary>
internal readonly record struct SentRow(long Id, string MessageType, DateTime CreatedAt);

/// <summary>
/// The publishes of one relay pass, in row order: at most a bounded number in flight, awaited oldest first.
/// After the first failure (or a stop) no new publish starts; those already started still finish, and each one
/// that succeeded counts as sent, because its message is out.
/// </summary>
internal sealed class RelayBatch(int maxInFlight)
{
    /// <summary>Large events (a bulk load's batches) are few in flight: their bodies and serialised copies are big.</summary>
    private const long MaxCharsInFlight = 1 << 20;

    private readonly Queue<(OutboxMessage Row, Task Publish)> _inFlight = new();
    // Not the rows themselves: their bodies can be large and must not stay in memory for the whole pass.
    private readonly List<SentRow> _sent = new();
    private long _charsInFlight;

    public IReadOnlyList<SentRow> Sent => _sent;

    /// <summary>The id of the first row (in row order) whose publish failed; <see cref="Failure"/> says why.</summary>
    public long? FailedRow { get; private set; }

    public ExceptionDispatchInfo? Failure { get; private set; }

    /// <summary>Set when a publish was cancelled because the relay is stopping.</summary>
    public ExceptionDispatchInfo? Canceled { get; private set; }

    public bool IsFull => _inFlight.Count >= Math.Max(1, maxInFlight) || _charsInFlight >= MaxCharsInFlight;

    /// <summary>Adds a started publish; false once a publish has failed, so the caller starts no more.</summary>
    public bool Start(OutboxMessage row, Task publish)
    {
        _inFlight.Enqueue((row, publish));
        _charsInFlight += row.Body.Length;
        // A publish that failed at once (an unknown type, a bad body) stops the batch before the next row starts.
        return !publish.IsFaulted && !publish.IsCanceled && Failure is null && Canceled is null;
    }

    public async Task CompleteOldestAsync()
    {
        var (row, publish) = _inFlight.Dequeue();
        _charsInFlight -= row.Body.Length;
        try
        {
            await publish;
            _sent.Add(new SentRow(row.Id, row.MessageType, row.CreatedAt));
        }
        catch (OperationCanceledException ex)
        {
            Canceled ??= ExceptionDispatchInfo.Capture(ex);
        }
        catch (Exception ex)
        {
            if (Failure is null)
            {
                FailedRow = row.Id;
                Failure = ExceptionDispatchInfo.Capture(ex);
            }
        }
    }

    public async Task CompleteAllAsync()
    {
        while (_inFlight.Count > 0)
            await CompleteOldestAsync();
    }
}
