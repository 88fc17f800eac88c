using System.Globalization;
using Metering.Hosting.Data;
using Microsoft.EntityFrameworkCore;

namespace Metering.Hosting.Messaging;

/// <summary>
/// Writing many queued outbox rows at once, for bulk work that publishes one event per item (a riser's
/// conversion opens hundreds of accounts). On SQLite, EF Core's batched INSERTs make SQLite parse every
/// statement anew, which costs more than the write itself; one prepared INSERT executed per row inside the
/// caller's transaction is several times faster. Other providers batch well, so there SaveChanges writes them.
/// </summary>
public static class OutboxBulkWrite
{
    /// <summary>
    /// Writes the rows that <see cref="Outbox.Publish{T}"/> or <see cref="Outbox.Send{T}"/> queued, in that
    /// order, inside the current transaction, and takes them out of the context's care so that SaveChanges does
    /// not write them again. Without a current transaction, or on another provider, it leaves them to SaveChanges.
    /// </summary>
    public static async Task WriteQueuedAsync(this MessagingDbContext db, IReadOnlyList<OutboxMessage> queued, CancellationToken cancellationToken)
    {
        if (!db.Database.IsSqlite() || queued.Count == 0 || db.Database.CurrentTransaction is null)
            return;
        await using var command = db.CreateCommandInTransaction(
            """
            INSERT INTO "OutboxMessages" ("MessageId", "MessageType", "Body", "Destination", "TraceParent", "CreatedAt", "Attempts")
            VALUES ($id, $type, $body, $destination, $trace, $created, 0) RETURNING "Id"
            """);
        var id = command.AddParameter("$id");
        var type = command.AddParameter("$type");
        var body = command.AddParameter("$body");
        var destination = command.AddParameter("$destination");
        var trace = command.AddParameter("$trace");
        var created = command.AddParameter("$created");
        await command.PrepareAsync(cancellationToken);
        foreach (var row in queued)
        {
            // The text forms EF Core's SQLite provider stores and reads back: upper-case GUIDs, ISO-like instants.
            id.Value = row.MessageId.ToString().ToUpperInvariant();
            type.Value = row.MessageType;
            body.Value = row.Body;
            destination.Value = (object?)row.Destination ?? DBNull.Value;
            trace.Value = (object?)row.TraceParent ?? DBNull.Value;
            created.Value = row.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);
            var rowId = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            db.Entry(row).State = EntityState.Detached;
            row.Id = rowId;
        }
        // The relay is woken by the commit (OutboxSignalInterceptor), as for rows written by SaveChanges.
    }
}
