using Metering.Hosting.Data;
using Metering.Hosting.Security;

namespace Metering.Readings.Data;

/// <summary>
/// Group commit of audit rows on SQLite. The hosting's security interceptor writes one audit row after every
/// change, each in a transaction of its own; on a durable SQLite file each commit waits for the disk, so 16
/// clients' single readings cost 16 audit commits besides their one group commit. Audit rows that arrive together
/// are written here in one transaction, behind the service's other writers (<see cref="WriteGate"/>), and their
/// callers are answered after that commit, as they were after their own.
/// </summary>
public sealed class AuditBatcher(IServiceScopeFactory scopes, WriteGate gate, IConfiguration configuration, ILogger<AuditBatcher> logger)
    : GroupCommitLoop<AuditEntry, object>(MaxBatch)
{
    private const int MaxBatch = 256;
    private static readonly object Written = new();

    public bool Enabled { get; } =
        ServiceDatabase.Provider(configuration) == DatabaseProvider.Sqlite && configuration.GetValue("Readings:GroupCommit", true);

    /// <summary>True once the row is committed; false when the caller should write it itself (the host is stopping, or the batch failed).</summary>
    public async Task<bool> WriteAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        await SubmitAsync(entry, cancellationToken) is not null;

    protected override async Task WriteAsync(IReadOnlyList<Pending> batch, CancellationToken stoppingToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ReadingsDbContext>();
            using var turn = await gate.EnterAsync(db, stoppingToken);
            // Inside a transaction the context saves the rows itself rather than handing them back here.
            await using var transaction = await db.Database.BeginTransactionAsync(stoppingToken);
            foreach (var pending in batch)
                db.AuditEntries.Add(pending.Item);
            await db.SaveChangesAsync(stoppingToken);
            await transaction.CommitAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "A group commit of {Count} audit rows failed; each is written again on its own", batch.Count);
            foreach (var pending in batch)
            {
                pending.Item.Id = 0;
                pending.Answer.TrySetResult(null);
            }
            return;
        }
        foreach (var pending in batch)
            pending.Answer.TrySetResult(Written);
    }
}
