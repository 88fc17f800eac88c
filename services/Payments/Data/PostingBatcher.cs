using Metering.Domain;
using Metering.Hosting.Data;
using Metering.Payments.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Data;

/// <summary>
/// Group commit of postings on SQLite (the queue and loop are <see cref="GroupCommitLoop{TItem, TResult}"/>):
/// postings that arrive together are written in one transaction, each in a savepoint of its own,
/// and answered after the single commit. A posting that fails is rolled back
/// alone and answered with its own error; one that cannot be decided here (a constraint, a lost
/// commit) is handed back to the caller's ordinary path, which retries it by itself.
/// On SQL Server, where writers run concurrently, the batcher is off.
/// </summary>
public sealed class PostingBatcher(
    IServiceScopeFactory scopes, LedgerWriteGate gate, TimeProvider clock, IConfiguration configuration,
    ILogger<PostingBatcher> logger) : GroupCommitLoop<PaymentInstruction, PostedPayment>(MaxBatch)
{
    private const int MaxBatch = 128;

    // Payments:PreparedPosting=false keeps EF Core inside the group commit (for comparison, or as a fallback).
    private readonly bool _preparedCommands = configuration.GetValue("Payments:PreparedPosting", true);

    // Payments:MemoryMap=true reads the database file through a memory map (see SqlitePaymentWriter.MemoryMapPragma);
    // off by default until a quiet-machine run shows it pays (busy-machine runs could not tell).
    private readonly bool _memoryMap = configuration.GetValue("Payments:MemoryMap", false);

    private readonly bool _syncOutsideLock = SyncOutsideLock(configuration);

    public bool Enabled { get; } =
        ServiceDatabase.Provider(configuration) == DatabaseProvider.Sqlite && configuration.GetValue("Payments:GroupCommit", true);

    /// <summary>The posting committed; null when the caller should decide it alone (key taken, retry needed).</summary>
    public Task<PostedPayment?> PostAsync(PaymentInstruction instruction, CancellationToken cancellationToken) =>
        SubmitAsync(instruction, cancellationToken);

    protected override async Task<ILogFlush?> WriteAsync(IReadOnlyList<Pending> batch, CancellationToken stoppingToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<PaymentsDbContext>();
            using var turn = await gate.EnterAsync(db, stoppingToken);
            // Pipelined: commit without the disk wait and let the loop answer after the log's flush, outside the lock.
            await using var withoutSync = _syncOutsideLock ? await SqliteCommitWithoutSync.BeginAsync(db, stoppingToken) : null;
            await using var transaction = await db.Database.BeginTransactionAsync(stoppingToken);
            // Prepared commands instead of EF Core for the posting itself (see SqlitePaymentWriter).
            await using var writer = _preparedCommands ? new SqlitePaymentWriter(db, _memoryMap) : null;
            var now = clock.GetUtcNow();
            for (var i = 0; i < batch.Count; i++)
            {
                var savepoint = $"p{i}";
                await transaction.CreateSavepointAsync(savepoint, stoppingToken);
                try
                {
                    batch[i].Decide(writer is null
                        ? await PaymentPoster.PostInTransactionAsync(db, batch[i].Item, now, stoppingToken)
                        : await writer.PostAsync(batch[i].Item, now, stoppingToken));
                }
                catch (DomainException refusal)
                {
                    await transaction.RollbackToSavepointAsync(savepoint, stoppingToken);
                    batch[i].Refuse(refusal);
                }
                catch (Exception ex) when (ex is DbUpdateException or SqliteException { SqliteErrorCode: 19 })
                {
                    // Left to the caller's own path, which retries or replays it.
                    await transaction.RollbackToSavepointAsync(savepoint, stoppingToken);
                    batch[i].HandBack();
                }
                // Each posting reads its account afresh: no tracked state leaks from one to the next.
                db.ChangeTracker.Clear();
            }
            if (writer is not null)
                await writer.WriteEventsAsync(stoppingToken);
            await transaction.CommitAsync(stoppingToken);
            return withoutSync?.LogFlush;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "A group commit of {Count} postings failed; each is retried on its own", batch.Count);
            throw;
        }
    }
}
