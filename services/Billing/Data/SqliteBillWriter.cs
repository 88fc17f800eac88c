using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Metering.Hosting.Data;
using SQLitePCL;

namespace Metering.Billing.Data;

/// <summary>
/// Writes one billing-run batch on SQLite inside the open transaction (the chunk's): bills, lines, claims and year positions
/// through statements prepared once per batch on the connection's own SQLite handle, with values bound by position as
/// UTF-8 (ids, dates and times formatted into stack buffers, values that repeat through a batch encoded once) and
/// <see cref="BillingOptions.RunSqliteRowsPerStatement"/> rows per statement. Measured (100 000 bill rows): 11 µs a row
/// through a prepared <c>SqliteCommand</c>, which binds every parameter by name and builds a data reader per execution;
/// 16 µs as one <c>json_each</c> statement per batch (each column is a JSON extraction); 7 µs bound by position, which
/// leaves SQLite little but its B-tree inserts. Binding strings made SQLitePCL allocate a UTF-8 copy of each value, and
/// one statement per row paid a step, a reset and the statement's setup per row: the thread's CPU for writing a chunk
/// fell by about a fifth without them (docs/billing.md).
/// The statements run in the batch's transaction (the same connection, which holds the write lock), and the rows are
/// exactly the ones EF Core would write (same columns, values in EF Core's SQLite storage formats). The guards are the
/// model's concurrency tokens: a consumption row is claimed only while unbilled and unchanged (a claim statement that
/// changes fewer rows than it holds fails), a year position moves only from the value the bill was computed on, a new
/// position fails the primary key if one appeared meanwhile; otherwise <see cref="DbUpdateConcurrencyException"/> (or the
/// constraint's <see cref="SqliteException"/>), and the chunk (its transaction on SQLite) is retried. Rows still waiting
/// for a full statement are written by <see cref="Flush"/>, which the batch calls before it goes on.
/// </summary>
internal sealed class SqliteBillWriter : IDisposable
{
    private readonly sqlite3 _db;
    private readonly RowBatch _insertBill;
    private readonly RowBatch _insertLine;
    private readonly RowBatch _claimConsumption;
    private readonly SqliteRawStatement _movePosition;
    private readonly RowBatch _insertPosition;
    // The id of the bill inserted last, as stored (upper-case text), for its lines and claims.
    private readonly byte[] _billId = new byte[GuidLength];
    private readonly Utf8Cache<Guid> _runIds = new(id => id.ToString().ToUpperInvariant());
    private readonly Utf8Cache<DateOnly> _dates = new(Text);
    private readonly Utf8Cache<DateTime> _times = new(Text);
    private readonly Utf8Cache<string> _strings = new(text => text);

    public SqliteBillWriter(BillingDbContext db, int rowsPerStatement)
    {
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("a billing batch is written inside its transaction");
        _db = ((SqliteConnection)db.Database.GetDbConnection()).Handle
            ?? throw new InvalidOperationException("the batch's connection is not open");
        _insertBill = RowBatch.Insert(_db, "Bills", ["Id", "RunId", "Status", "BalanceBroughtForwardFen", "UserNumber",
            "PeriodStart", "PeriodEnd", "PreviousRegisterLitres", "CurrentRegisterLitres", "VolumeLitres", "YearToDateLitres",
            "AmountFen", "DueDate", "TariffCode", "IssuedAt"], rowsPerStatement);
        // A line refers to its bill: the bills bound so far are inserted before any lines statement runs, so the
        // foreign key holds even where it is checked (the chunk's connection turns the checks off).
        _insertLine = RowBatch.Insert(_db, "BillLines", ["BillId", "LineNumber", "Year", "Tier", "VolumeLitres",
            "PriceFenPerM3", "AmountFen", "TariffName"], rowsPerStatement, runsAfter: _insertBill);
        _claimConsumption = RowBatch.Claims(_db, rowsPerStatement);
        _movePosition = new SqliteRawStatement(_db, """
            UPDATE "YearPositions" SET "BilledLitres" = ?1
            WHERE "UserNumber" = ?2 AND "Year" = ?3 AND "BilledLitres" = ?4
            """);
        _insertPosition = RowBatch.Insert(_db, "YearPositions", ["UserNumber", "Year", "BilledLitres"], rowsPerStatement);
    }

    /// <summary>Inserts a bill and its lines; the claims that follow (<see cref="Claim"/>) are this bill's.</summary>
    public void InsertBill(Bill bill)
    {
        // Values bound as UTF-8 from stack buffers or per-batch caches: binding a string made SQLitePCL allocate a
        // UTF-8 copy of it per value, a third of the writing time with the garbage collections it caused.
        Span<byte> userNumber = stackalloc byte[MaxAsciiKey];
        Span<byte> periodStart = stackalloc byte[DateLength];
        Span<byte> periodEnd = stackalloc byte[DateLength];
        FormatGuid(bill.Id, _billId);
        var s = _insertBill.Statement;
        var o = _insertBill.Offset;
        s.Bind(o + 1, _billId);
        s.Bind(o + 2, bill.RunId is { } run ? _runIds.Get(run) : null);
        s.Bind(o + 3, _strings.Get(bill.Status == BillStatus.Issued ? nameof(BillStatus.Issued) : nameof(BillStatus.Cancelled)));
        s.Bind(o + 4, bill.BalanceBroughtForwardFen);
        s.Bind(o + 5, Key(bill.UserNumber, userNumber));
        s.Bind(o + 6, FormatDate(bill.PeriodStart, periodStart));
        s.Bind(o + 7, FormatDate(bill.PeriodEnd, periodEnd));
        s.Bind(o + 8, bill.PreviousRegisterLitres);
        s.Bind(o + 9, bill.CurrentRegisterLitres);
        s.Bind(o + 10, bill.VolumeLitres);
        s.Bind(o + 11, bill.YearToDateLitres);
        s.Bind(o + 12, bill.AmountFen);
        s.Bind(o + 13, _dates.Get(bill.DueDate));
        s.Bind(o + 14, _strings.Get(bill.TariffCode));
        s.Bind(o + 15, _times.Get(bill.IssuedAt));
        _insertBill.EndRow();
        s = _insertLine.Statement;
        foreach (var line in bill.Lines)
        {
            o = _insertLine.Offset;
            s.Bind(o + 1, _billId);
            s.Bind(o + 2, line.LineNumber);
            s.Bind(o + 3, line.Year);
            s.Bind(o + 4, line.Tier);
            s.Bind(o + 5, line.VolumeLitres);
            s.Bind(o + 6, line.PriceFenPerM3);
            s.Bind(o + 7, line.AmountFen);
            s.Bind(o + 8, _strings.Get(line.TariffName));
            _insertLine.EndRow();
        }
    }

    /// <summary>Claims an unbilled consumption row for the bill inserted last, as long as nobody billed or corrected it meanwhile.</summary>
    public void Claim(Consumption row)
    {
        var o = _claimConsumption.Offset;
        _claimConsumption.Statement.Bind(o + 1, _billId);
        _claimConsumption.Statement.Bind(o + 2, row.Id);
        _claimConsumption.Statement.Bind(o + 3, row.ConsumptionLitres);
        _claimConsumption.EndRow();
    }

    /// <summary>Moves a year position from <paramref name="before"/> (null: none yet) to <paramref name="after"/>.</summary>
    public void MovePosition(string userNumber, int year, long? before, long after)
    {
        if (before is { } from)
        {
            if (from == after)
                return;
            Span<byte> key = stackalloc byte[MaxAsciiKey];
            _movePosition.Bind(1, after);
            _movePosition.Bind(2, Key(userNumber, key));
            _movePosition.Bind(3, year);
            _movePosition.Bind(4, from);
            if (_movePosition.Execute() != 1)
                throw new DbUpdateConcurrencyException($"the {year} position of {userNumber} moved meanwhile; the chunk is retried");
        }
        else
        {
            // A position inserted meanwhile fails the primary key, and the chunk is retried as well.
            Span<byte> key = stackalloc byte[MaxAsciiKey];
            var o = _insertPosition.Offset;
            _insertPosition.Statement.Bind(o + 1, Key(userNumber, key));
            _insertPosition.Statement.Bind(o + 2, year);
            _insertPosition.Statement.Bind(o + 3, after);
            _insertPosition.EndRow();
        }
    }

    /// <summary>Runs the inserts still waiting for a full statement; call it at the end of the batch, before its commit.</summary>
    public void Flush()
    {
        _insertBill.Flush();
        _insertLine.Flush();
        _claimConsumption.Flush();
        _insertPosition.Flush();
    }

    public void Dispose()
    {
        _insertBill.Dispose();
        _insertLine.Dispose();
        _claimConsumption.Dispose();
        _movePosition.Dispose();
        _insertPosition.Dispose();
    }

    // EF Core's SQLite storage formats: GUIDs as upper-case text, dates and times as ISO text; written as UTF-8.
    private const int GuidLength = 36;
    private const int DateLength = 10;
    // User numbers are 10 characters; a longer key (never written by the run) is encoded into a new array.
    private const int MaxAsciiKey = 16;
    // SQLite's limit on a statement's parameters (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
    private const int MaxParameters = 32766;

    private static void FormatGuid(Guid value, Span<byte> destination)
    {
        if (!value.TryFormat(destination, out var written) || written != GuidLength)
            throw new InvalidOperationException("a GUID did not format to 36 characters");
        for (var i = 0; i < GuidLength; i++)
            if (destination[i] is >= (byte)'a' and <= (byte)'f')
                destination[i] -= 'a' - 'A';
    }

    private static ReadOnlySpan<byte> FormatDate(DateOnly value, Span<byte> destination) =>
        value.TryFormat(destination, out var written, "yyyy-MM-dd", CultureInfo.InvariantCulture)
            ? destination[..written]
            : throw new InvalidOperationException($"the date {value} did not format");

    /// <summary>An ASCII key (a user number) as UTF-8 in <paramref name="destination"/>; anything else as its UTF-8 bytes.</summary>
    private static ReadOnlySpan<byte> Key(string value, Span<byte> destination) =>
        value.Length <= destination.Length && Ascii.IsValid(value)
            ? destination[..Encoding.ASCII.GetBytes(value, destination)]
            : Encoding.UTF8.GetBytes(value);

    private static string Text(DateOnly value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Text(DateTime value) => value.ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF", CultureInfo.InvariantCulture);

    /// <summary>
    /// The UTF-8 text of values that repeat through a batch (its run id, due date, issue time, status and tariff
    /// names), encoded once each.
    /// </summary>
    private sealed class Utf8Cache<T>(Func<T, string> text) where T : notnull
    {
        private readonly Dictionary<T, byte[]> _encoded = [];

        public byte[] Get(T value)
        {
            if (!_encoded.TryGetValue(value, out var bytes))
                _encoded[value] = bytes = Encoding.UTF8.GetBytes(text(value));
            return bytes;
        }
    }

    /// <summary>
    /// One statement for up to <c>rowsPerStatement</c> rows (an <c>INSERT</c> of rows, or claims): a row's values are
    /// bound at <see cref="Offset"/>, <see cref="EndRow"/> runs the statement once it holds all its rows,
    /// <see cref="Flush"/> runs the rest, the rows left over bound to match nothing (a NULL key). One statement per row
    /// cost a step, a reset and the statement's setup (its table's and indexes' cursors) per row.
    /// </summary>
    private sealed class RowBatch : IDisposable
    {
        private readonly int _columns;
        private readonly int _rowsPerStatement;
        // The column (1-based) bound NULL in the rows left over, so that they insert or claim nothing.
        private readonly int _keyColumn;
        // Claims: every row must change exactly one consumption row.
        private readonly bool _mustChangeEachRow;
        // Rows this statement's rows refer to (a line's bill): written first.
        private readonly RowBatch? _runsAfter;
        private int _pending;

        private RowBatch(sqlite3 db, int columns, int rowsPerStatement, int keyColumn, bool mustChangeEachRow,
            RowBatch? runsAfter, Func<string, string> sql)
        {
            _columns = columns;
            _rowsPerStatement = Math.Clamp(rowsPerStatement, 1, MaxParameters / columns);
            _runsAfter = runsAfter;
            _keyColumn = keyColumn;
            _mustChangeEachRow = mustChangeEachRow;
            var rows = string.Join(", ", Enumerable.Range(0, _rowsPerStatement).Select(r =>
                "(" + string.Join(", ", Enumerable.Range(r * _columns + 1, _columns).Select(i => $"?{i}")) + ")"));
            Statement = new SqliteRawStatement(db, sql(rows));
        }

        /// <summary>Inserts rows into <paramref name="table"/>; the first column is a key that is never NULL.</summary>
        public static RowBatch Insert(sqlite3 db, string table, string[] columns, int rowsPerStatement,
            RowBatch? runsAfter = null)
        {
            var names = string.Join(", ", columns.Select(c => $"\"{c}\""));
            return new RowBatch(db, columns.Length, rowsPerStatement, 1, false, runsAfter, rows => rowsPerStatement <= 1
                ? $"INSERT INTO \"{table}\" ({names}) VALUES {rows}"
                : $"INSERT INTO \"{table}\" ({names}) SELECT * FROM (VALUES {rows}) WHERE column1 IS NOT NULL");
        }

        /// <summary>
        /// Claims consumption rows, values (bill id, consumption id, consumption litres): each only while unbilled and
        /// unchanged, else <see cref="DbUpdateConcurrencyException"/>.
        /// </summary>
        public static RowBatch Claims(sqlite3 db, int rowsPerStatement) =>
            new(db, 3, rowsPerStatement, 2, true, null, rows => rowsPerStatement <= 1
                ? """
                  UPDATE "Consumptions" SET "BillId" = ?1
                  WHERE "Id" = ?2 AND "BillId" IS NULL AND "ConsumptionLitres" = ?3
                  """
                : $"""
                  UPDATE "Consumptions" SET "BillId" = v.column1 FROM (VALUES {rows}) AS v
                  WHERE "Consumptions"."Id" = v.column2 AND "Consumptions"."BillId" IS NULL
                      AND "Consumptions"."ConsumptionLitres" = v.column3
                  """);

        public SqliteRawStatement Statement { get; }

        /// <summary>Parameter offset of the row being bound: its first column is <c>Offset + 1</c>.</summary>
        public int Offset => _pending * _columns;

        public void EndRow()
        {
            if (++_pending == _rowsPerStatement)
                Run();
        }

        public void Flush()
        {
            if (_pending == 0)
                return;
            for (var row = _pending; row < _rowsPerStatement; row++)
                Statement.Bind(row * _columns + _keyColumn, (byte[]?)null);
            Run();
        }

        public void Dispose() => Statement.Dispose();

        private void Run()
        {
            _runsAfter?.Flush();
            var rows = _pending;
            _pending = 0;
            var changed = Statement.Execute();
            if (_mustChangeEachRow && changed != rows)
                throw new DbUpdateConcurrencyException(
                    "a consumption row of the batch was billed or corrected meanwhile; the chunk is retried");
        }
    }
}
