using Metering.Hosting.Security;

namespace Metering.Readings.Data;

/// <summary>
/// Readings' audit rows go into its group commit with the readings that arrive next, without a context of their own
/// (creating one per row cost as much CPU as the reading it audits).
/// </summary>
public sealed class ReadingAuditQueue(ReadingBatcher batcher) : IAuditRowQueue
{
    public Type Store => typeof(ReadingsDbContext);

    public bool Accepts => batcher.Enabled;

    public Task<bool> WriteAsync(AuditEntry entry) => batcher.WriteAuditAsync(entry, CancellationToken.None);
}
