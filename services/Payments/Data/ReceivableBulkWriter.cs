using System.Globalization;
using System.Text;
using Metering.Contracts.Events;
using Metering.Hosting.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using SQLitePCL;

namespace Metering.Payments.Data;

/// <summary>
/// Writes a run's bills into the ledger on SQLite in the consumer's transaction, with statements prepared once per
/// message on the connection's own SQLite handle, values bound by position from UTF-8 bytes formatted into buffers
/// reused for every bill (<see cref="SqliteRawStatement"/>). A BillIssued carries hundreds of bills: EF Core's tracked
/// inserts cost several times more per row, and a prepared <c>SqliteCommand</c> per bill spent more on binding by
/// name, converting strings and building a data reader than SQLite spent on the insert. Bills go in by
/// <see cref="RowsPerInsert"/> per statement: each statement also pays for its own start and end (the table's
/// AUTOINCREMENT counter is read and written back, a statement journal is opened).
/// Values are written the way EF Core stores them (Guid upper-case text, DateOnly <c>yyyy-MM-dd</c>), so EF reads
/// the rows back unchanged.
/// </summary>
public static class ReceivableBulkWriter
{
    /// <summary>Bills per INSERT statement (7 bound values each, well under SQLite's limit of bound values).</summary>
    public const int RowsPerInsert = 50;

    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.FFFFFFF";
    private const int CacheKiB = 64 * 1024;

    /// <summary>
    /// Inserts the bills not yet known (the unique index on the bill id decides, so a bill carried twice is
    /// taken once), creates accounts Billing's event reached before Accounts' did, adds negative bills to the
    /// accounts' credit and bumps the version of every account that got a bill, once per message (a concurrent
    /// payment retries). Returns the ids of accounts that now hold credit, in the order of their first new bill:
    /// their credit is to be applied to the new bills.
    /// </summary>
    public static IReadOnlyList<long> Write(PaymentsDbContext db, BillIssued message, DateTime now)
    {
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("bills are written inside the consumer's transaction");
        var handle = ((SqliteConnection)db.Database.GetDbConnection()).Handle
            ?? throw new InvalidOperationException("the consumer's connection is not open");

        // The bill-id index takes keys all over its range; with SQLite's default 2 MB page cache every insert
        // would read its leaf page back from the OS. The setting stays with the (pooled) connection.
        var rc = raw.sqlite3_exec(handle, $"PRAGMA cache_size = -{CacheKiB}");
        if (rc != raw.SQLITE_OK)
            SqliteException.ThrowExceptionForRC(rc, handle);

        var runId = message.RunId.ToString().ToUpperInvariant();
        var issuedAt = message.OccurredAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);
        var bills = message.Bills;
        var text = new Utf8Fields();
        // Per account, in the order of its first new bill: the credit its negative bills add.
        var touched = new Dictionary<long, long>();
        var inserted = new List<(long AccountId, long AmountFen)>(RowsPerInsert);

        using var one = new SingleBill(handle, runId, issuedAt, now);
        SqliteRawStatement? full = null, last = null;
        try
        {
            for (var first = 0; first < bills.Count; first += RowsPerInsert)
            {
                var count = Math.Min(RowsPerInsert, bills.Count - first);
                var insert = count == RowsPerInsert
                    ? full ??= NewInsert(handle, count, runId, issuedAt)
                    : last = NewInsert(handle, count, runId, issuedAt);
                for (var row = 0; row < count; row++)
                {
                    var bill = bills[first + row];
                    var at = 3 + 7 * row;
                    insert.Bind(at, text.Guid(bill.BillId));
                    insert.Bind(at + 1, text.UserNumber(bill.UserNumber));
                    insert.Bind(at + 2, text.Date(bill.PeriodStart, 0));
                    insert.Bind(at + 3, text.Date(bill.PeriodEnd, 1));
                    insert.Bind(at + 4, bill.VolumeLitres);
                    insert.Bind(at + 5, bill.AmountFen);
                    insert.Bind(at + 6, text.Date(bill.DueDate, 2));
                }
                inserted.Clear();
                insert.ReadPairs(inserted);
                foreach (var (accountId, amountFen) in inserted)
                    Touch(touched, accountId, amountFen);
                if (inserted.Count == count)
                    continue;

                // Some bills of this chunk did not go in: known bills (an earlier message, a cancellation that
                // overtook them, twice in this message), or accounts that Billing's event reached before Accounts'
                // AccountOpened. Each goes through the one-bill statements, which open such accounts (AccountOpened
                // fills in the holder later); the bills that did go in are known to them now and stay as they are.
                for (var row = 0; row < count; row++)
                {
                    var bill = bills[first + row];
                    if (one.Insert(bill, text) is { } accountId)
                        Touch(touched, accountId, bill.AmountFen);
                }
            }
        }
        finally
        {
            full?.Dispose();
            last?.Dispose();
        }

        return TouchAccounts(handle, touched);
    }

    private static void Touch(Dictionary<long, long> touched, long accountId, long amountFen) =>
        // A negative bill (an estimate corrected by a lower actual reading) is never open: it is credit.
        touched[accountId] = touched.GetValueOrDefault(accountId) + (amountFen < 0 ? -amountFen : 0);

    /// <summary>
    /// Adds the negative bills' credit (rare, one statement each), then bumps every touched account's version in one
    /// statement. Answers the accounts that hold credit afterwards, in <paramref name="touched"/>'s order.
    /// </summary>
    private static List<long> TouchAccounts(sqlite3 handle, Dictionary<long, long> touched)
    {
        var withCredit = new List<long>();
        if (touched.Count == 0)
            return withCredit;
        using (var credit = new SqliteRawStatement(handle, "UPDATE LedgerAccounts SET CreditFen = CreditFen + ?2 WHERE Id = ?1"))
        {
            foreach (var (accountId, creditAdded) in touched)
            {
                if (creditAdded == 0)
                    continue;
                credit.Bind(1, accountId);
                credit.Bind(2, creditAdded);
                credit.Execute();
            }
        }

        var ids = new StringBuilder("[", 12 * touched.Count);
        foreach (var accountId in touched.Keys)
            ids.Append(accountId.ToString(CultureInfo.InvariantCulture)).Append(',');
        ids[^1] = ']';
        using var touch = new SqliteRawStatement(handle, """
            UPDATE LedgerAccounts SET Version = Version + 1 WHERE Id IN (SELECT value FROM json_each(?1))
            RETURNING Id, CreditFen
            """);
        touch.Bind(1, ids.ToString());
        var accounts = new List<(long Id, long CreditFen)>(touched.Count);
        touch.ReadPairs(accounts);
        var holders = accounts.Where(a => a.CreditFen > 0).Select(a => a.Id).ToHashSet();
        if (holders.Count > 0)
            withCredit.AddRange(touched.Keys.Where(holders.Contains));
        return withCredit;
    }

    /// <summary>
    /// <paramref name="rows"/> bills in one statement: each finds its account by user number (the VALUES list is the
    /// outer loop, so the bills go in in the message's order) and goes in unless its id is known. It answers the
    /// account and amount of each bill that went in; a bill whose account is not in the ledger gives no row.
    /// </summary>
    private static SqliteRawStatement NewInsert(sqlite3 handle, int rows, string runId, string issuedAt)
    {
        var values = string.Join(", ", Enumerable.Range(0, rows).Select(row =>
            "(" + string.Join(", ", Enumerable.Range(3 + 7 * row, 7).Select(i => "?" + i.ToString(CultureInfo.InvariantCulture))) + ")"));
        var insert = new SqliteRawStatement(handle, $"""
            INSERT INTO Receivables (BillId, LedgerAccountId, RunId, PeriodStart, PeriodEnd, VolumeLitres, AmountFen, PaidFen,
                                     DueDate, IssuedAt, CancelledAt)
            SELECT v.column1, a.Id, ?1, v.column3, v.column4, v.column5, v.column6, 0, v.column7, ?2, NULL
            FROM (VALUES {values}) v CROSS JOIN LedgerAccounts a
            WHERE a.UserNumber = v.column2
            ON CONFLICT (BillId) DO NOTHING
            RETURNING LedgerAccountId, AmountFen
            """);
        // Bound once: bindings outlive each execution's reset.
        insert.Bind(1, runId);
        insert.Bind(2, issuedAt);
        return insert;
    }

    /// <summary>One bill at a time, for bills that the chunk's statement did not take: opens unknown accounts.</summary>
    private sealed class SingleBill : IDisposable
    {
        private readonly sqlite3 _handle;
        private readonly string _runId, _issuedAt, _now;
        private SqliteRawStatement? _insert, _openAccount;

        public SingleBill(sqlite3 handle, string runId, string issuedAt, DateTime now)
        {
            _handle = handle;
            _runId = runId;
            _issuedAt = issuedAt;
            _now = now.ToString(TimeFormat, CultureInfo.InvariantCulture);
        }

        /// <summary>The bill's account when the bill went in now; null when it is known already.</summary>
        public long? Insert(IssuedBill bill, Utf8Fields text)
        {
            if (_insert is null)
            {
                _insert = NewInsert(_handle, 1, _runId, _issuedAt);
                _openAccount = new SqliteRawStatement(_handle, """
                    INSERT INTO LedgerAccounts (UserNumber, CreditFen, Version, CreatedAt) VALUES (?1, 0, 0, ?2)
                    ON CONFLICT (UserNumber) DO NOTHING
                    """);
                _openAccount.Bind(2, _now);
            }
            var user = text.UserNumber(bill.UserNumber);
            _insert.Bind(3, text.Guid(bill.BillId));
            _insert.Bind(4, user);
            _insert.Bind(5, text.Date(bill.PeriodStart, 0));
            _insert.Bind(6, text.Date(bill.PeriodEnd, 1));
            _insert.Bind(7, bill.VolumeLitres);
            _insert.Bind(8, bill.AmountFen);
            _insert.Bind(9, text.Date(bill.DueDate, 2));
            if (_insert.ExecuteScalar() is { } accountId)
                return accountId;
            // No row: a known bill, or no account yet. Open it and try once more; a known bill stays known.
            _openAccount!.Bind(1, user);
            return _openAccount.Execute() == 0 ? null : _insert.ExecuteScalar();
        }

        public void Dispose()
        {
            _insert?.Dispose();
            _openAccount?.Dispose();
        }
    }

    /// <summary>Buffers that one bill's text values are formatted into, in EF Core's SQLite storage formats.</summary>
    private sealed class Utf8Fields
    {
        private readonly byte[] _guid = new byte[36];
        private readonly byte[] _user = new byte[64];
        private readonly byte[][] _dates = [new byte[10], new byte[10], new byte[10]];

        /// <summary>Upper-case <c>D</c> format, as EF Core stores a Guid on SQLite.</summary>
        public ReadOnlySpan<byte> Guid(Guid value)
        {
            value.TryFormat(_guid, out _);
            for (var i = 0; i < _guid.Length; i++)
            {
                if (_guid[i] >= (byte)'a')
                    _guid[i] -= 'a' - 'A';
            }
            return _guid;
        }

        public ReadOnlySpan<byte> Date(DateOnly value, int slot)
        {
            value.TryFormat(_dates[slot], out var written, "yyyy-MM-dd", CultureInfo.InvariantCulture);
            return _dates[slot].AsSpan(0, written);
        }

        public ReadOnlySpan<byte> UserNumber(string value) =>
            Encoding.UTF8.TryGetBytes(value, _user, out var written) ? _user.AsSpan(0, written) : Encoding.UTF8.GetBytes(value);
    }
}
