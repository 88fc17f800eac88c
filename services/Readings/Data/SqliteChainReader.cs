using System.Data.Common;
using System.Globalization;
using System.Text;
using Metering.Hosting.Data;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Metering.Readings.Data;

/// <summary>
/// Loads reading chains on SQLite (a bulk chunk's, or one group-committed reading's) with plain commands:
/// the accounts with their current meters in one query, their readings since a date in a second, and any
/// head older than that in a third. SQLite answers each in milliseconds; EF Core's query pipeline and
/// materialisation took tens of microseconds per account on top, which was most of a bulk load's time. Values are read in the text
/// forms EF Core's SQLite provider writes (see <see cref="SqliteBulkWriter"/>).
/// </summary>
internal static class SqliteChainReader
{
    public static async Task<Dictionary<string, LoadedChain>> LoadAsync(ReadingsDbContext db,
        IReadOnlyCollection<string> userNumbers, DateOnly since, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            var transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            var accounts = new Dictionary<long, (Account Account, Meter Meter)>(userNumbers.Count);

            await using (var query = Command(connection, transaction, """
                SELECT a."Id", a."UserNumber", a."Status", COALESCE(a."ClosedOn", ''), a."LastReadingSequence",
                       m."Id", m."CapacityLitres", m."InitialRegisterLitres", m."InstalledOn", m."Serial"
                FROM "Accounts" AS a
                JOIN "Meters" AS m ON m."AccountId" = a."Id" AND m."RemovedOn" IS NULL
                WHERE a."UserNumber" IN (SELECT "value" FROM json_each($keys))
                """))
            {
                query.AddParameter("$keys").Value = JsonArray(userNumbers.Distinct(), quote: true);
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
                    accounts[account.Id] = (account, meter);
                }
            }

            var recent = new Dictionary<long, List<ChainReading>>(accounts.Count);
            if (accounts.Count > 0)
            {
                await using var query = Command(connection, transaction, $$"""
                    SELECT r."AccountId", {{Packed}}
                    FROM "Readings" AS r
                    WHERE r."AccountId" IN (SELECT "value" FROM json_each($keys)) AND r."ReadOn" >= $since
                    """);
                query.AddParameter("$keys").Value = JsonArray(accounts.Keys.Select(k => k.ToString(CultureInfo.InvariantCulture)), quote: false);
                query.AddParameter("$since").Value = since.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                await using var reader = query.ExecuteReader();
                while (reader.Read())
                {
                    var accountId = reader.GetInt64(0);
                    if (!recent.TryGetValue(accountId, out var list))
                        recent[accountId] = list = new List<ChainReading>(4);
                    list.Add(ReadChainReading(reader, 1));
                }
            }

            // A head older than the window (an account not read for a year) is fetched on its own.
            var heads = new Dictionary<long, ChainReading>(accounts.Count);
            var missing = new List<long>();
            foreach (var (id, (account, _)) in accounts)
            {
                var head = recent.TryGetValue(id, out var list) ? list.Find(r => r.Sequence == account.LastReadingSequence) : null;
                if (head is null)
                    missing.Add(id);
                else
                    heads[id] = head;
            }
            if (missing.Count > 0)
            {
                await using var query = Command(connection, transaction, $$"""
                    SELECT r."AccountId", {{Packed}}
                    FROM "Accounts" AS a
                    JOIN "Readings" AS r ON r."AccountId" = a."Id" AND r."Sequence" = a."LastReadingSequence"
                    WHERE a."Id" IN (SELECT "value" FROM json_each($keys))
                    """);
                query.AddParameter("$keys").Value = JsonArray(missing.Select(k => k.ToString(CultureInfo.InvariantCulture)), quote: false);
                await using var reader = query.ExecuteReader();
                while (reader.Read())
                    heads[reader.GetInt64(0)] = ReadChainReading(reader, 1);
            }

            var chains = new Dictionary<string, LoadedChain>(accounts.Count);
            foreach (var (id, (account, meter)) in accounts)
            {
                var chain = new ReadingChain(account.UserNumber, account.Status == AccountStatus.Closed, account.ClosedOn,
                    meter.Register, meter.InstalledOn, heads[id], recent.TryGetValue(id, out var list) ? list : []);
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
    private const string Packed = """
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

    private static ChainReading ReadChainReading(DbDataReader reader, int column)
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

    private static DateOnly? OptionalDate(string text) => text.Length == 0 ? null : Date(text);

    private static DateOnly Date(string text) => Date(text.AsSpan());

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

    /// <summary>The keys as one JSON array parameter: one statement for any number of keys (user numbers are digits only).</summary>
    private static string JsonArray(IEnumerable<string> keys, bool quote)
    {
        var json = new StringBuilder("[");
        foreach (var key in keys)
        {
            if (json.Length > 1)
                json.Append(',');
            if (quote)
                json.Append('"').Append(key).Append('"');
            else
                json.Append(key);
        }
        return json.Append(']').ToString();
    }
}
