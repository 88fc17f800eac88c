using MassTransit;
using Metering.Domain;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Hosting.Security;
using Metering.Readings.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Metering.Readings.Data;

/// <summary>
/// Group commit of single readings and audit rows on SQLite (the queue and loop are
/// <see cref="GroupCommitLoop{TItem, TResult}"/>): work that arrives together is written in one transaction and
/// answered after the single commit. Each reading loads its chain inside that transaction, so two readings of one
/// account in a batch are measured one after the other; its writes are in a savepoint of their own. A reading the
/// rules refuse is answered with its refusal; one that fails for any other reason (or a batch whose commit fails)
/// goes back to the caller's ordinary path. The audit row that the hosting's security interceptor writes after each
/// answered reading joins the next batch (<see cref="ReadingAuditQueue"/>) instead of a commit of its own behind
/// the readings'. Off on SQL Server, where writers run side by side.
/// </summary>
public sealed class ReadingBatcher(
    IServiceScopeFactory scopes, WriteGate gate, TimeProvider clock, IConfiguration configuration,
    ILogger<ReadingBatcher> logger) : GroupCommitLoop<ReadingBatcher.Work, object>(MaxBatch)
{
    private const int MaxBatch = 128;

    /// <summary>SQLITE_CONSTRAINT: the unique (account, sequence) index stopped a reading measured from a moved head.</summary>
    private const int SqliteConstraint = 19;

    /// <summary>An item of the loop: a reading or an audit row.</summary>
    public abstract record Work;

    /// <summary>A reading waiting for the loop: what to record into the chain.</summary>
    public sealed record Reading(string UserNumber, DateOnly ReadOn, Func<ReadingChain, Guid, Recorded> Record) : Work;

    /// <summary>An audit row waiting for the loop.</summary>
    public sealed record Audit(AuditEntry Entry) : Work;

    private static readonly object AuditWritten = new();

    private readonly bool _syncOutsideLock = SyncOutsideLock(configuration);

    public bool Enabled { get; } =
        ServiceDatabase.Provider(configuration) == DatabaseProvider.Sqlite && configuration.GetValue("Readings:GroupCommit", true);

    /// <summary>
    /// <c>Readings:SqliteFastPath=false</c> loads and writes through EF Core's model inside the group commit (the
    /// commands of the previous round), which is how the tests compare the prepared statements with it.
    /// </summary>
    private readonly bool _prepared = configuration.GetValue("Readings:SqliteFastPath", true);

    /// <summary>The reading committed (or the duplicate found); null when the caller should record it alone.</summary>
    public async Task<Recorded?> RecordAsync(UserNumber userNumber, DateOnly readOn, Func<ReadingChain, Guid, Recorded> record,
        CancellationToken cancellationToken) =>
        (Recorded?)await SubmitAsync(new Reading(userNumber.Value, readOn, record), cancellationToken);

    /// <summary>True once the audit row is committed; false when the caller should write it itself (the host is stopping, or the batch failed).</summary>
    public async Task<bool> WriteAuditAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        await SubmitAsync(new Audit(entry), cancellationToken) is not null;

    protected override async Task<ILogFlush?> WriteAsync(IReadOnlyList<Pending> batch, CancellationToken stoppingToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ReadingsDbContext>();
            using var turn = await gate.EnterAsync(db, stoppingToken);
            // Pipelined: commit without the disk wait and let the loop answer after the log's flush, outside the lock.
            await using var withoutSync = _syncOutsideLock ? await SqliteCommitWithoutSync.BeginAsync(db, stoppingToken) : null;
            await using var transaction = await db.Database.BeginTransactionAsync(stoppingToken);
            await using var writer = new SqliteReadingWriter(db);
            var events = new List<OutboxMessage>();
            var now = clock.GetUtcNow();
            for (var i = 0; i < batch.Count; i++)
            {
                var (result, refusal) = batch[i].Item switch
                {
                    Audit audit => Written(writer, audit),
                    Reading reading when _prepared => Record(writer, batch[i], reading, events, now),
                    Reading reading => await RecordThroughModelAsync(db, transaction, i, batch[i], reading, events, now, stoppingToken),
                    _ => (null, null),
                };
                if (refusal is not null)
                    batch[i].Refuse(refusal);
                else
                    batch[i].Decide(result);
            }
            // The events in one prepared statement after the readings; the relay is woken by the commit.
            await db.WriteQueuedAsync(events, stoppingToken);
            await db.SaveChangesAsync(stoppingToken);
            await transaction.CommitAsync(stoppingToken);
            return withoutSync?.LogFlush;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "A group commit of {Count} readings and audit rows failed; each is written again on its own", batch.Count);
            foreach (var pending in batch)
                if (pending.Item is Audit audit)
                    audit.Entry.Id = 0;
            throw;
        }
    }

    private static (object? Result, Exception? Refusal) Written(SqliteReadingWriter writer, Audit audit)
    {
        writer.WriteAudit(audit.Entry);
        return (AuditWritten, null);
    }

    /// <summary>One reading on the prepared statements: its answer, its refusal, or neither (the caller's own path).</summary>
    private static (object? Result, Exception? Refusal) Record(SqliteReadingWriter writer, Pending pending, Reading reading,
        List<OutboxMessage> events, DateTimeOffset now)
    {
        try
        {
            var loaded = writer.Load(reading.UserNumber, reading.ReadOn) ?? throw UnknownAccount(reading.UserNumber);
            var recorded = reading.Record(loaded.Chain, NewId.NextSequentialGuid());
            if (recorded.Outcome != RecordOutcome.Duplicate)
            {
                writer.Write(loaded, now);
                Publish(writer.Db, pending, loaded, events, now);
            }
            return (recorded, null);
        }
        catch (DomainException refusal)
        {
            return (null, refusal);
        }
        catch (Exception ex) when (ex is DbUpdateException or SqliteException { SqliteErrorCode: SqliteConstraint })
        {
            // Rolled back to its savepoint; left to the caller's own path, which measures it again.
            return (null, null);
        }
    }

    /// <summary>One reading as the previous round wrote it: loads and writes through the context's commands.</summary>
    private static async Task<(object? Result, Exception? Refusal)> RecordThroughModelAsync(ReadingsDbContext db,
        IDbContextTransaction transaction, int index, Pending pending, Reading reading,
        List<OutboxMessage> events, DateTimeOffset now, CancellationToken stoppingToken)
    {
        var savepoint = $"r{index}";
        await transaction.CreateSavepointAsync(savepoint, stoppingToken);
        try
        {
            var chains = await ChainStore.LoadAsync(db, [reading.UserNumber], reading.ReadOn, reading.ReadOn, stoppingToken, track: false);
            if (!chains.TryGetValue(reading.UserNumber, out var loaded))
                throw UnknownAccount(reading.UserNumber);
            var recorded = reading.Record(loaded.Chain, NewId.NextSequentialGuid());
            if (recorded.Outcome != RecordOutcome.Duplicate)
            {
                await SqliteBulkWriter.WriteAsync(db, [loaded], now, stoppingToken);
                Publish(db, pending, loaded, events, now);
            }
            return (recorded, null);
        }
        catch (DomainException refusal)
        {
            await transaction.RollbackToSavepointAsync(savepoint, stoppingToken);
            return (null, refusal);
        }
        catch (DbUpdateException)
        {
            await transaction.RollbackToSavepointAsync(savepoint, stoppingToken);
            return (null, null);
        }
    }

    /// <summary>The reading's event, in the request's trace. Held readings reach Billing only when an operator releases or corrects them.</summary>
    private static void Publish(ReadingsDbContext db, Pending pending, LoadedChain loaded, List<OutboxMessage> events, DateTimeOffset now) =>
        InCallersTrace(pending, () =>
        {
            foreach (var added in loaded.Chain.Added)
                if (added.Status == ReadingStatus.Accepted)
                    events.Add(db.Publish(ChainStore.Accepted(loaded.Account.UserNumber, added, now)));
        });

    private static NotFoundException UnknownAccount(string userNumber) =>
        new("account", userNumber, "Readings learns of new accounts from Accounts, so one opened moments ago may not have arrived yet");
}
