using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Metering.Hosting.Data;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Metering.Readings.Data;

/// <summary>
/// Writes a bulk chunk's readings and chain heads on SQLite with two set-based statements inside the
/// chunk's transaction: the rows go to SQLite as one JSON array parameter and are unpacked by
/// <c>json_each</c>. EF Core's SQLite provider sends one command per row through its whole update
/// pipeline, and even a prepared statement per row spends most of its time binding a dozen named
/// parameters; one statement per chunk leaves SQLite only the inserts themselves. Values are written the
/// way EF Core stores them (Guid as upper-case text, DateOnly <c>yyyy-MM-dd</c>, enums by name), so EF
/// reads them back unchanged. SQL Server keeps EF Core's own batching, which sends many rows per round trip.
/// </summary>
internal static class SqliteBulkWriter
{
    public static async Task WriteAsync(ReadingsDbContext db, IEnumerable<LoadedChain> chains, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var connection = db.Database.GetDbConnection();
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("bulk writes run inside the chunk's transaction");

        var rows = new ArrayBufferWriter<byte>(1 << 16);
        var heads = new ArrayBufferWriter<byte>(1 << 12);
        var headCount = 0;
        using (var rowJson = new Utf8JsonWriter(rows))
        using (var headJson = new Utf8JsonWriter(heads))
        {
            rowJson.WriteStartArray();
            headJson.WriteStartArray();
            Span<char> date = stackalloc char[10];
            foreach (var loaded in chains)
            {
                var added = loaded.Chain.Added;
                if (added.Count == 0)
                    continue;
                // [account, new head, head as loaded]: the head moves only if no other writer moved it meanwhile.
                headJson.WriteStartArray();
                headJson.WriteNumberValue(loaded.Account.Id);
                headJson.WriteNumberValue(loaded.Chain.Head.Sequence);
                headJson.WriteNumberValue(loaded.Account.LastReadingSequence);
                headJson.WriteEndArray();
                headCount++;
                foreach (var r in added)
                {
                    rowJson.WriteStartArray();
                    rowJson.WriteStringValue(r.Id.ToString().ToUpperInvariant());
                    rowJson.WriteNumberValue(loaded.Account.Id);
                    rowJson.WriteNumberValue(loaded.Meter.Id);
                    rowJson.WriteNumberValue(r.Sequence);
                    r.ReadOn.TryFormat(date, out _, "yyyy-MM-dd", CultureInfo.InvariantCulture);
                    rowJson.WriteStringValue(date);
                    rowJson.WriteNumberValue(r.RegisterLitres);
                    rowJson.WriteStringValue(KindText(r.Kind));
                    rowJson.WriteStringValue(r.Status == ReadingStatus.Held ? nameof(ReadingStatus.Held) : nameof(ReadingStatus.Accepted));
                    rowJson.WriteNumberValue(r.ConsumptionLitres);
                    if (r.PreviousReadOn is { } on)
                    {
                        on.TryFormat(date, out _, "yyyy-MM-dd", CultureInfo.InvariantCulture);
                        rowJson.WriteStringValue(date);
                    }
                    else
                        rowJson.WriteNullValue();
                    if (r.PreviousRegisterLitres is { } previous)
                        rowJson.WriteNumberValue(previous);
                    else
                        rowJson.WriteNullValue();
                    if (r.HoldReason is { } hold)
                        rowJson.WriteStringValue(hold);
                    else
                        rowJson.WriteNullValue();
                    rowJson.WriteEndArray();
                }
            }
            rowJson.WriteEndArray();
            headJson.WriteEndArray();
        }
        if (headCount == 0)
            return;

        // The heads first: if another writer moved one of these chains meanwhile, the chunk is measured again
        // before any of its rows could collide with that writer's on (account, sequence).
        await using (var moveHeads = Command(connection, transaction, """
            UPDATE "Accounts" SET "LastReadingSequence" = j.value ->> 1
            FROM json_each($heads) AS j
            WHERE "Accounts"."Id" = j.value ->> 0 AND "Accounts"."LastReadingSequence" = j.value ->> 2
            """))
        {
            moveHeads.AddParameter("$heads").Value = Encoding.UTF8.GetString(heads.WrittenSpan);
            var moved = moveHeads.ExecuteNonQuery();
            if (moved != headCount)
                throw new DbUpdateConcurrencyException($"{headCount - moved} of the chunk's accounts got other readings during the bulk load");
        }

        await using var insert = Command(connection, transaction, """
            INSERT INTO "Readings" ("Id", "AccountId", "MeterId", "Sequence", "ReadOn", "RegisterLitres", "Kind", "Status",
                "ConsumptionLitres", "PreviousReadOn", "PreviousRegisterLitres", "RecordedAt", "HoldReason", "ReleasedAt", "CorrectedAt")
            SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6,
                j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10, $recordedAt, j.value ->> 11, NULL, NULL
            FROM json_each($rows) AS j
            """);
        insert.AddParameter("$rows").Value = Encoding.UTF8.GetString(rows.WrittenSpan);
        insert.AddParameter("$recordedAt").Value = now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string KindText(ReadingKind kind) => kind switch
    {
        ReadingKind.Actual => nameof(ReadingKind.Actual),
        ReadingKind.Estimated => nameof(ReadingKind.Estimated),
        ReadingKind.Initial => nameof(ReadingKind.Initial),
        _ => nameof(ReadingKind.Final),
    };

    private static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
