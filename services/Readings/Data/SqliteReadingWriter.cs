using System.Data.Common;
using System.Globalization;
using Metering.Domain;
using Metering.Hosting.Data;
using Metering.Hosting.Security;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Readings.Data;

/// <summary>
/// The single-reading group commit's statements on SQLite (<see cref="ReadingBatcher"/>), prepared once per batch
/// inside its transaction and bound positionally for each reading: the chain of one account in two statements
/// (account, meter and head; then the readings the rules look at one by one together with the SQL sum of the rest
/// of the 12 months, as <see cref="SqliteChainReader"/> loads a bulk chunk's), the head move, the reading's insert,
/// and the audit rows of earlier requests. Before, each reading built and parsed five statements of its own around
/// JSON key lists, and each savepoint and audit row went through EF Core. Values are written the way EF Core stores
/// them (see <see cref="SqliteBulkWriter"/>); the tests compare this path with EF Core's.
/// </summary>
internal sealed class SqliteReadingWriter : IAsyncDisposable
{
    private readonly DbCommand _account;
    private readonly DbCommand _history;
    private readonly DbCommand _moveHead;
    private readonly DbCommand _insertReading;
    private readonly DbCommand _savepoint;
    private readonly DbCommand _release;
    private readonly DbCommand _rollback;
    private DbCommand? _insertAudit;

    public SqliteReadingWriter(ReadingsDbContext db)
    {
        Db = db;
        _account = Command($$"""
            SELECT a."Id", a."UserNumber", a."Status", COALESCE(a."ClosedOn", ''), a."LastReadingSequence",
                   m."Id", m."CapacityLitres", m."InitialRegisterLitres", m."InstalledOn", m."Serial", {{SqliteChainReader.Packed}}
            FROM "Accounts" AS a
            JOIN "Meters" AS m ON m."AccountId" = a."Id" AND m."RemovedOn" IS NULL
            JOIN "Readings" AS r ON r."AccountId" = a."Id" AND r."Sequence" = a."LastReadingSequence"
            WHERE a."UserNumber" = $1
            """, 1);
        // $1 account, $2 head sequence, $3 1 when the head is an estimate (nothing summed), $4 since, $5 summed after,
        // $6 summed before (the reading's date). First the readings loaded one by one (kind 0), then one row with the
        // sums (kind 1) of what UsageHistory.Average counts: not initial readings, not held ones.
        _history = Command($$"""
            SELECT 0, {{SqliteChainReader.Packed}}, 0, 0
            FROM "Readings" AS r
            WHERE r."AccountId" = $1 AND r."ReadOn" >= $4 AND r."Sequence" < $2
              AND ($3 = 1 OR r."ReadOn" <= $5 OR r."ReadOn" >= $6)
            UNION ALL
            SELECT 1, '', COALESCE(SUM(r."ConsumptionLitres"), 0),
                   COALESCE(CAST(SUM(julianday(r."ReadOn") - julianday(r."PreviousReadOn")) AS INTEGER), 0)
            FROM "Readings" AS r
            WHERE $3 = 0 AND r."AccountId" = $1 AND r."ReadOn" > $5 AND r."ReadOn" < $6 AND r."Sequence" < $2
              AND r."Kind" <> 'Initial' AND r."Status" <> 'Held' AND r."PreviousReadOn" IS NOT NULL
            """, 6);
        _moveHead = Command("""
            UPDATE "Accounts" SET "LastReadingSequence" = $2 WHERE "Id" = $1 AND "LastReadingSequence" = $3
            """, 3);
        _insertReading = Command("""
            INSERT INTO "Readings" ("Id", "AccountId", "MeterId", "Sequence", "ReadOn", "RegisterLitres", "Kind", "Status",
                "ConsumptionLitres", "PreviousReadOn", "PreviousRegisterLitres", "RecordedAt", "HoldReason", "ReleasedAt", "CorrectedAt")
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, NULL)
            """, 13);
        _savepoint = Command("SAVEPOINT reading", 0);
        _release = Command("RELEASE reading", 0);
        _rollback = Command("ROLLBACK TO reading", 0);
    }

    public ReadingsDbContext Db { get; }

    /// <summary>The account's chain as of the batch so far, for a reading dated <paramref name="readOn"/>; null for an unknown account.</summary>
    public LoadedChain? Load(string userNumber, DateOnly readOn)
    {
        _account.Parameters[0].Value = userNumber;
        Account account;
        Meter meter;
        ChainReading head;
        using (var reader = _account.ExecuteReader())
        {
            if (!reader.Read())
                return null;
            account = new Account
            {
                Id = reader.GetInt64(0),
                UserNumber = reader.GetString(1),
                Status = reader.GetString(2) == nameof(AccountStatus.Closed) ? AccountStatus.Closed : AccountStatus.Open,
                ClosedOn = SqliteChainReader.OptionalDate(reader.GetString(3)),
                LastReadingSequence = reader.GetInt32(4),
            };
            meter = new Meter
            {
                Id = reader.GetInt64(5),
                AccountId = account.Id,
                CapacityLitres = reader.GetInt64(6),
                InitialRegisterLitres = reader.GetInt64(7),
                InstalledOn = SqliteChainReader.Date(reader.GetString(8)),
                Serial = reader.GetString(9),
            };
            head = SqliteChainReader.ReadChainReading(reader, 10);
        }

        // The same split as a bulk chunk dated readOn…readOn (SqliteChainReader): readings strictly between
        // readOn − 365 days and readOn are summed, the rest of the window and everything behind an estimate loaded.
        var estimatedHead = head.Kind == ReadingKind.Estimated;
        var summedAfter = readOn.AddDays(-UsageHistory.WindowDays);
        var p = _history.Parameters;
        p[0].Value = account.Id;
        p[1].Value = head.Sequence;
        p[2].Value = estimatedHead ? 1 : 0;
        p[3].Value = DateText.Format(readOn.AddDays(-UsageHistory.WindowDays - 1));
        p[4].Value = DateText.Format(summedAfter);
        p[5].Value = DateText.Format(readOn);
        var recent = new List<ChainReading>(4);
        UsageTotal? summed = null;
        using (var reader = _history.ExecuteReader())
        {
            while (reader.Read())
            {
                if (reader.GetInt32(0) == 0)
                    recent.Add(SqliteChainReader.ReadChainReading(reader, 1));
                else
                    summed = new UsageTotal(summedAfter, readOn, reader.GetInt64(2), reader.GetInt32(3));
            }
        }
        var chain = new ReadingChain(account.UserNumber, account.Status == AccountStatus.Closed, account.ClosedOn,
            meter.Register, meter.InstalledOn, head, recent, estimatedHead ? null : summed);
        return new LoadedChain(account, meter, chain);
    }

    /// <summary>
    /// Moves the head (only if no other writer moved it since the load) and inserts what the chain added, in a savepoint:
    /// when either fails, nothing of this reading stays and the exception goes to the caller.
    /// </summary>
    public void Write(LoadedChain loaded, DateTimeOffset now)
    {
        var added = loaded.Chain.Added;
        if (added.Count == 0)
            return;
        _savepoint.ExecuteNonQuery();
        try
        {
            var move = _moveHead.Parameters;
            move[0].Value = loaded.Account.Id;
            move[1].Value = loaded.Chain.Head.Sequence;
            move[2].Value = loaded.Account.LastReadingSequence;
            if (_moveHead.ExecuteNonQuery() != 1)
                throw new DbUpdateConcurrencyException($"account {loaded.Account.UserNumber} got another reading meanwhile");
            var p = _insertReading.Parameters;
            var recordedAt = Instant(now.UtcDateTime);
            foreach (var r in added)
            {
                p[0].Value = r.Id.ToString().ToUpperInvariant();
                p[1].Value = loaded.Account.Id;
                p[2].Value = loaded.Meter.Id;
                p[3].Value = r.Sequence;
                p[4].Value = DateText.Format(r.ReadOn);
                p[5].Value = r.RegisterLitres;
                p[6].Value = r.Kind.ToString();
                p[7].Value = r.Status == ReadingStatus.Held ? nameof(ReadingStatus.Held) : nameof(ReadingStatus.Accepted);
                p[8].Value = r.ConsumptionLitres;
                p[9].Value = r.PreviousReadOn is { } on ? DateText.Format(on) : DBNull.Value;
                p[10].Value = (object?)r.PreviousRegisterLitres ?? DBNull.Value;
                p[11].Value = recordedAt;
                p[12].Value = (object?)r.HoldReason ?? DBNull.Value;
                _insertReading.ExecuteNonQuery();
            }
            _release.ExecuteNonQuery();
        }
        catch
        {
            _rollback.ExecuteNonQuery();
            _release.ExecuteNonQuery();
            throw;
        }
        loaded.Account.LastReadingSequence = loaded.Chain.Head.Sequence;
    }

    /// <summary>An audit row (written by the hosting's security interceptor after an answered change) as EF Core would write it.</summary>
    public void WriteAudit(AuditEntry entry)
    {
        _insertAudit ??= Command("""
            INSERT INTO "AuditEntries" ("At", "KeyId", "Role", "Rpc", "Target", "Before", "Request", "After")
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING "Id"
            """, 8);
        var p = _insertAudit.Parameters;
        p[0].Value = Instant(entry.At);
        p[1].Value = entry.KeyId;
        p[2].Value = entry.Role;
        p[3].Value = entry.Rpc;
        p[4].Value = (object?)entry.Target ?? DBNull.Value;
        p[5].Value = (object?)entry.Before ?? DBNull.Value;
        p[6].Value = entry.Request;
        p[7].Value = (object?)entry.After ?? DBNull.Value;
        entry.Id = Convert.ToInt64(_insertAudit.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>A DateTime as EF Core's SQLite provider stores it.</summary>
    private static string Instant(DateTime at) => at.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

    private DbCommand Command(string sql, int parameters)
    {
        var command = Db.CreateCommandInTransaction(sql);
        for (var i = 1; i <= parameters; i++)
            command.AddParameter("$" + i.ToString(CultureInfo.InvariantCulture));
        return command;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var command in new[] { _account, _history, _moveHead, _insertReading, _savepoint, _release, _rollback, _insertAudit })
            if (command is not null)
                await command.DisposeAsync();
    }
}
