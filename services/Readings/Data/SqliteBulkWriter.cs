using System.Data.Common;
using System.Globalization;
using Metering.Hosting.Data;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Metering.Readings.Data;

/// <summary>
/// Writes a bulk chunk's readings and chain heads on SQLite with two prepared statements inside the
/// chunk's transaction. EF Core's SQLite provider sends one command per row through its whole update
/// pipeline, which caps a load at a few thousand rows a second; a prepared statement does hundreds of
/// thousands. Values are written the way EF Core stores them (Guid as upper-case text, DateOnly
/// <c>yyyy-MM-dd</c>, enums by name), so EF reads them back unchanged. SQL Server keeps EF Core's own
/// batching, which sends many rows per round trip.
/// </summary>
internal static class SqliteBulkWriter
{
    public static async Task WriteAsync(ReadingsDbContext db, IEnumerable<LoadedChain> chains, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var connection = db.Database.GetDbConnection();
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("bulk writes run inside the chunk's transaction");
        var recordedAt = now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO "Readings" ("Id", "AccountId", "MeterId", "Sequence", "ReadOn", "RegisterLitres", "Kind", "Status",
                "ConsumptionLitres", "PreviousReadOn", "PreviousRegisterLitres", "RecordedAt", "HoldReason", "ReleasedAt", "CorrectedAt")
            VALUES ($id, $account, $meter, $sequence, $readOn, $register, $kind, $status, $consumption, $previousOn,
                $previousRegister, $recordedAt, $hold, NULL, NULL)
            """;
        var id = insert.AddParameter("$id");
        var account = insert.AddParameter("$account");
        var meter = insert.AddParameter("$meter");
        var sequence = insert.AddParameter("$sequence");
        var readOn = insert.AddParameter("$readOn");
        var register = insert.AddParameter("$register");
        var kind = insert.AddParameter("$kind");
        var status = insert.AddParameter("$status");
        var consumption = insert.AddParameter("$consumption");
        var previousOn = insert.AddParameter("$previousOn");
        var previousRegister = insert.AddParameter("$previousRegister");
        insert.AddParameter("$recordedAt").Value = recordedAt;
        var hold = insert.AddParameter("$hold");
        await insert.PrepareAsync(cancellationToken);

        await using var moveHead = connection.CreateCommand();
        moveHead.Transaction = transaction;
        moveHead.CommandText = """
            UPDATE "Accounts" SET "LastReadingSequence" = $new WHERE "Id" = $id AND "LastReadingSequence" = $old
            """;
        var headNew = moveHead.AddParameter("$new");
        var headId = moveHead.AddParameter("$id");
        var headOld = moveHead.AddParameter("$old");
        await moveHead.PrepareAsync(cancellationToken);

        foreach (var loaded in chains)
        {
            var added = loaded.Chain.Added;
            if (added.Count == 0)
                continue;
            // The head first: if another writer moved this chain meanwhile, the chunk is measured again
            // before any of its rows could collide with that writer's on (account, sequence).
            headNew.Value = loaded.Chain.Head.Sequence;
            headId.Value = loaded.Account.Id;
            headOld.Value = loaded.Account.LastReadingSequence;
            if (await moveHead.ExecuteNonQueryAsync(cancellationToken) != 1)
                throw new DbUpdateConcurrencyException($"the readings of account {loaded.Account.UserNumber} changed during the bulk load");
            foreach (var r in added)
            {
                id.Value = r.Id.ToString().ToUpperInvariant();
                account.Value = loaded.Account.Id;
                meter.Value = loaded.Meter.Id;
                sequence.Value = r.Sequence;
                readOn.Value = r.ReadOn.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                register.Value = r.RegisterLitres;
                kind.Value = r.Kind.ToString();
                status.Value = r.Status.ToString();
                consumption.Value = r.ConsumptionLitres;
                previousOn.Value = r.PreviousReadOn is { } on ? on.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : DBNull.Value;
                previousRegister.Value = r.PreviousRegisterLitres is { } p ? p : DBNull.Value;
                hold.Value = (object?)r.HoldReason ?? DBNull.Value;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }
    }
}
