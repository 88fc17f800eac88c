using System.Data.Common;
using System.Globalization;
using System.Text;
using Metering.Domain;
using Metering.Hosting.Data;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Metering.Readings.Data;

/// <summary>
/// Loads reading chains on SQLite (a bulk chunk's, or one group-committed reading's) with plain commands:
/// the accounts with their current meters and heads in one query, the readings the rules look at one by one
/// in a second, and the rest of the 12 months summed per account in a third. SQLite answers each in
/// milliseconds; EF Core's query pipeline and materialisation took tens of microseconds per account on top,
/// which was most of a bulk load's time. Values are read in the text forms EF Core's SQLite provider writes
/// (see <see cref="SqliteBulkWriter"/>). EF Core's path (<see cref="ChainStore"/>, used by SQL Server) loads
/// every reading of the 12 months instead; the tests compare the two.
/// </summary>
internal static class SqliteChainReader
{
    /// <param name="firstReadOn">The earliest date that will be recorded into these chains.</param>
    /// <param name="lastReadOn">The latest date that will be recorded into these chains.</param>
    public static async Task<Dictionary<string, LoadedChain>> LoadAsync(ReadingsDbContext db,
        IReadOnlyCollection<string> userNumbers, DateOnly firstReadOn, DateOnly lastReadOn, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            var transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            var accounts = new Dictionary<long, (Account Account, Meter Meter, ChainReading Head)>(userNumbers.Count);

            // The accounts, their current meters and their heads in one query.
            await using (var query = Command(connection, transaction, $$"""
                SELECT a."Id", a."UserNumber", a."Status", COALESCE(a."ClosedOn", ''), a."LastReadingSequence",
                       m."Id", m."CapacityLitres", m."InitialRegisterLitres", m."InstalledOn", m."Serial", {{Packed}}
                FROM "Accounts" AS a
                JOIN "Meters" AS m ON m."AccountId" = a."Id" AND m."RemovedOn" IS NULL
                JOIN "Readings" AS r ON r."AccountId" = a."Id" AND r."Sequence" = a."LastReadingSequence"
                WHERE a."UserNumber" IN (SELECT "value" FROM json_each($keys))
                """))
            {
                query.AddParameter("$keys").Value = JsonArray(userNumbers.Distinct().Select(n => $"\"{n}\""));
                await using var reader = query.ExecuteReader();
                while (reader.Read())
                {
                    var account = new Account
                    {
                        Id = reader.GetInt64(0),
                        UserNumber = reader.GetString(1),
                        Status = reader.GetString(2) == nameof(AccountStatus.Closed) ? AccountStatus.Closed : AccountStatus.Open,
                        ClosedOn = OptionalDate(reader.GetString(3)),
                        LastReadingSequence = reader.GetInt32(4),
                    };
                    var meter = new Meter
                    {
                        Id = reader.GetInt64(5),
                        AccountId = account.Id,
                        CapacityLitres = reader.GetInt64(6),
                        InitialRegisterLitres = reader.GetInt64(7),
                        InstalledOn = Date(reader.GetString(8)),
                        Serial = reader.GetString(9),
                    };
                    accounts[account.Id] = (account, meter, ReadChainReading(reader, 10));
                }
            }

            // The 12-month average of any date from first to last counts every reading dated strictly between
            // `summedAfter` and `summedBefore`: those are summed by SQLite, one row per account, instead of
            // being loaded one by one (on average most of a year of readings per account, which was the
            // largest part of a chunk's load). Loaded one by one: the readings outside that span, and all of an
            // account whose head is an estimate (the next actual reading is measured from the last real one behind it).
            var since = firstReadOn.AddDays(-UsageHistory.WindowDays - 1);
            var summedAfter = lastReadOn.AddDays(-UsageHistory.WindowDays);
            var summedBefore = firstReadOn;
            var recent = new Dictionary<long, List<ChainReading>>(accounts.Count);
            var sums = new Dictionary<long, (long Litres, int Days)>(accounts.Count);
            if (accounts.Count > 0)
            {
                // Per account one integer (PackedKey): the account, its head's sequence, 1 when nothing is summed. Readings
                // after the head (written meanwhile) are left out, as the chain would leave them out, and the head itself came
                // with the account. Both statements read the account's readings by date from IX_Readings_AccountId_ReadOn_Usage,
                // which holds every column they filter and sum on ('+' keeps SQLite from walking the account's whole history by
                // sequence instead): only the readings loaded one by one are looked up in the table.
                var keys = JsonArray(accounts.Values.Select(a => PackedKey(a.Account.Id, a.Head.Sequence, a.Head.Kind == ReadingKind.Estimated)
                    .ToString(CultureInfo.InvariantCulture)));
                await using (var query = Command(connection, transaction, $$"""
                    SELECT r."AccountId", {{Packed}}
                    FROM json_each($keys) AS k
                    JOIN "Readings" AS r ON r."AccountId" = k.value >> 32
                    WHERE r."ReadOn" >= $since AND +r."Sequence" < ((k.value >> 1) & 2147483647)
                      AND ((k.value & 1) = 1 OR r."ReadOn" <= $after OR r."ReadOn" >= $before)
                    """))
                {
                    query.AddParameter("$keys").Value = keys;
                    query.AddParameter("$since").Value = DateText.Format(since);
                    query.AddParameter("$after").Value = DateText.Format(summedAfter);
                    query.AddParameter("$before").Value = DateText.Format(summedBefore);
                    await using var reader = query.ExecuteReader();
                    while (reader.Read())
                    {
                        var accountId = reader.GetInt64(0);
                        if (!recent.TryGetValue(accountId, out var list))
                            recent[accountId] = list = new List<ChainReading>(4);
                        list.Add(ReadChainReading(reader, 1));
                    }
                }
                // What UsageHistory.Average counts: not initial readings, not held ones.
                if (summedAfter < summedBefore)
                {
                    await using var query = Command(connection, transaction, """
                        SELECT r."AccountId", SUM(r."ConsumptionLitres"),
                               CAST(SUM(julianday(r."ReadOn") - julianday(r."PreviousReadOn")) AS INTEGER)
                        FROM json_each($keys) AS k
                        JOIN "Readings" AS r ON r."AccountId" = k.value >> 32
                        WHERE (k.value & 1) = 0 AND r."ReadOn" > $after AND r."ReadOn" < $before AND r."Sequence" < ((k.value >> 1) & 2147483647)
                          AND r."Kind" <> 'Initial' AND r."Status" <> 'Held' AND r."PreviousReadOn" IS NOT NULL
                        GROUP BY r."AccountId"
                        """);
                    query.AddParameter("$keys").Value = keys;
                    query.AddParameter("$after").Value = DateText.Format(summedAfter);
                    query.AddParameter("$before").Value = DateText.Format(summedBefore);
                    await using var reader = query.ExecuteReader();
                    while (reader.Read())
                        sums[reader.GetInt64(0)] = (reader.GetInt64(1), reader.GetInt32(2));
                }
            }

            var chains = new Dictionary<string, LoadedChain>(accounts.Count);
            foreach (var (id, (account, meter, head)) in accounts)
            {
                UsageTotal? summed = null;
                if (head.Kind != ReadingKind.Estimated)
                {
                    var (litres, days) = sums.GetValueOrDefault(id);
                    summed = new UsageTotal(summedAfter, summedBefore, litres, days);
                }
                var chain = new ReadingChain(account.UserNumber, account.Status == AccountStatus.Closed, account.ClosedOn,
                    meter.Register, meter.InstalledOn, head, recent.TryGetValue(id, out var list) ? list : [], summed);
                chains[account.UserNumber] = new LoadedChain(account, meter, chain);
            }
            return chains;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// A reading as one text column, <c>|</c>-separated with the hold reason last: every column read costs
    /// a few native calls, which for a chunk's tens of thousands of readings outweighed the queries themselves.
    /// </summary>
    internal const string Packed = """
        r."Id" || '|' || r."Sequence" || '|' || r."ReadOn" || '|' || r."RegisterLitres" || '|' || r."Kind" || '|' ||
        r."Status" || '|' || r."ConsumptionLitres" || '|' || COALESCE(r."PreviousReadOn", '') || '|' ||
        COALESCE(r."PreviousRegisterLitres", '') || '|' || COALESCE(r."HoldReason", '')
        """;

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    internal static ChainReading ReadChainReading(DbDataReader reader, int column)
    {
        var text = reader.GetString(column);
        var rest = text.AsSpan();
        var id = Guid.Parse(Next(ref rest));
        var sequence = int.Parse(Next(ref rest), CultureInfo.InvariantCulture);
        var readOn = Date(Next(ref rest));
        var register = long.Parse(Next(ref rest), CultureInfo.InvariantCulture);
        var kind = Kind(Next(ref rest));
        var status = Next(ref rest) is nameof(ReadingStatus.Held) ? ReadingStatus.Held : ReadingStatus.Accepted;
        var consumption = long.Parse(Next(ref rest), CultureInfo.InvariantCulture);
        var previousOn = Next(ref rest) is { Length: > 0 } on ? Date(on) : (DateOnly?)null;
        var previousRegister = Next(ref rest) is { Length: > 0 } p ? long.Parse(p, CultureInfo.InvariantCulture) : (long?)null;
        // The hold reason is last and may itself contain '|'.
        return new ChainReading(id, sequence, readOn, register, kind, status, consumption, previousOn, previousRegister,
            rest.Length > 0 ? rest.ToString() : null);
    }

    private static ReadOnlySpan<char> Next(ref ReadOnlySpan<char> rest)
    {
        var end = rest.IndexOf('|');
        if (end < 0)
            throw new FormatException("a packed reading has too few fields");
        var field = rest[..end];
        rest = rest[(end + 1)..];
        return field;
    }

    private static ReadingKind Kind(ReadOnlySpan<char> text) => text switch
    {
        nameof(ReadingKind.Actual) => ReadingKind.Actual,
        nameof(ReadingKind.Estimated) => ReadingKind.Estimated,
        nameof(ReadingKind.Initial) => ReadingKind.Initial,
        nameof(ReadingKind.Final) => ReadingKind.Final,
        _ => throw new InvalidOperationException($"unknown reading kind '{text.ToString()}' in the database"),
    };

    internal static DateOnly? OptionalDate(string text) => text.Length == 0 ? null : Date(text);

    internal static DateOnly Date(string text) => Date(text.AsSpan());

    /// <summary><c>yyyy-MM-dd</c> as EF Core writes it, read by hand: the general parser was a tenth of a chunk's load.</summary>
    private static DateOnly Date(ReadOnlySpan<char> text)
    {
        if (text.Length != 10 || text[4] != '-' || text[7] != '-')
            return DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        return new DateOnly(Digits(text, 0, 4), Digits(text, 5, 2), Digits(text, 8, 2));
    }

    private static int Digits(ReadOnlySpan<char> text, int start, int count)
    {
        var value = 0;
        for (var i = start; i < start + count; i++)
        {
            var digit = text[i] - '0';
            if ((uint)digit > 9)
                throw new FormatException($"'{text.ToString()}' is not a yyyy-MM-dd date");
            value = value * 10 + digit;
        }
        return value;
    }

    /// <summary>
    /// An account's key for the reading queries as one integer: the account id in the high 32 bits, its head's sequence
    /// above the lowest bit, and that bit set when the head is an estimate. SQLite takes integers out of a JSON array as
    /// they are, where a nested array per account (<c>[id, sequence, flag]</c>) was turned back into text and parsed again
    /// for each of the three on every row the queries joined: 6 % of a bulk load's CPU.
    /// </summary>
    internal static long PackedKey(long accountId, int headSequence, bool estimatedHead)
    {
        if (accountId is < 0 or > int.MaxValue || headSequence < 0)
            throw new InvalidOperationException($"account {accountId} or its head sequence {headSequence} is out of the packed key's range");
        return (accountId << 32) | ((long)headSequence << 1) | (estimatedHead ? 1L : 0L);
    }

    /// <summary>The keys (JSON values) as one JSON array parameter: one statement for any number of keys.</summary>
    private static string JsonArray(IEnumerable<string> values)
    {
        var json = new StringBuilder("[");
        foreach (var value in values)
        {
            if (json.Length > 1)
                json.Append(',');
            json.Append(value);
        }
        return json.Append(']').ToString();
    }
}
