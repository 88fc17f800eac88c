using Metering.Domain;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Readings.Data;

/// <summary>
/// Group commit of single readings on SQLite (the queue and loop are <see cref="GroupCommitLoop{TItem, TResult}"/>):
/// readings that arrive together are recorded in one transaction, each in a savepoint of its own, and
/// answered after the single commit. Each reading loads its chain
/// inside that transaction, so two readings of one account in a batch are measured one after the other.
/// A reading the rules refuse is rolled back alone and answered with its refusal; one that fails for any
/// other reason (or a batch whose commit fails) goes back to the caller's ordinary path. Off on SQL Server,
/// where writers run side by side.
/// </summary>
public sealed class ReadingBatcher(
    IServiceScopeFactory scopes, WriteGate gate, TimeProvider clock, IConfiguration configuration,
    ILogger<ReadingBatcher> logger) : GroupCommitLoop<ReadingBatcher.Request, Recorded>(MaxBatch)
{
    private const int MaxBatch = 64;

    /// <summary>A reading waiting for the loop: what to record into the chain.</summary>
    public sealed record Request(string UserNumber, DateOnly ReadOn, Func<ReadingChain, Guid, Recorded> Record);

    public bool Enabled { get; } =
        ServiceDatabase.Provider(configuration) == DatabaseProvider.Sqlite && configuration.GetValue("Readings:GroupCommit", true);

    /// <summary>The reading committed (or the duplicate found); null when the caller should record it alone.</summary>
    public Task<Recorded?> RecordAsync(UserNumber userNumber, DateOnly readOn, Func<ReadingChain, Guid, Recorded> record,
        CancellationToken cancellationToken) =>
        SubmitAsync(new Request(userNumber.Value, readOn, record), cancellationToken);

    protected override async Task WriteAsync(IReadOnlyList<Pending> batch, CancellationToken stoppingToken)
    {
        var outcomes = new (Recorded? Recorded, Exception? Refusal)[batch.Count];
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ReadingsDbContext>();
            using var turn = await gate.EnterAsync(db, stoppingToken);
            await using var transaction = await db.Database.BeginTransactionAsync(stoppingToken);
            var now = clock.GetUtcNow();
            for (var i = 0; i < batch.Count; i++)
            {
                var pending = batch[i].Item;
                var savepoint = $"r{i}";
                await transaction.CreateSavepointAsync(savepoint, stoppingToken);
                try
                {
                    var chains = await ChainStore.LoadAsync(db, [pending.UserNumber], pending.ReadOn, pending.ReadOn, stoppingToken, track: false);
                    if (!chains.TryGetValue(pending.UserNumber, out var loaded))
                        throw new NotFoundException("account", pending.UserNumber,
                            "Readings learns of new accounts from Accounts, so one opened moments ago may not have arrived yet");
                    var recorded = pending.Record(loaded.Chain, Guid.CreateVersion7(now));
                    if (recorded.Outcome != RecordOutcome.Duplicate)
                    {
                        await SqliteBulkWriter.WriteAsync(db, [loaded], now, stoppingToken);
                        // Held readings reach Billing only when an operator releases or corrects them.
                        InCallersTrace(batch[i], () =>
                        {
                            foreach (var added in loaded.Chain.Added)
                                if (added.Status == ReadingStatus.Accepted)
                                    db.Publish(ChainStore.Accepted(loaded.Account.UserNumber, added, now));
                        });
                    }
                    outcomes[i] = (recorded, null);
                }
                catch (DomainException refusal)
                {
                    await transaction.RollbackToSavepointAsync(savepoint, stoppingToken);
                    outcomes[i] = (null, refusal);
                }
                catch (DbUpdateException)
                {
                    // Left to the caller's own path, which measures it again.
                    await transaction.RollbackToSavepointAsync(savepoint, stoppingToken);
                }
            }
            await db.SaveChangesAsync(stoppingToken);
            await transaction.CommitAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "A group commit of {Count} readings failed; each is recorded again on its own", batch.Count);
            foreach (var pending in batch)
                pending.Answer.TrySetResult(null);
            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i].Refusal is { } refusal)
                batch[i].Answer.TrySetException(refusal);
            else
                batch[i].Answer.TrySetResult(outcomes[i].Recorded);
        }
    }
}
