using System.Data.Common;
using System.Globalization;
using Metering.Hosting.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Metering.Billing.Data;

/// <summary>
/// Writes one billing-run batch on SQLite inside the batch's transaction: bills, lines and new year positions are
/// buffered and inserted with prepared <c>INSERT</c>s of <see cref="RowsPerInsert"/> rows each (several times faster
/// than EF Core's change tracking and batched statements); the claims and position moves, which carry guards, are
/// one prepared <c>UPDATE</c> per row. The rows are exactly the
/// ones EF Core would write (same columns, values in EF Core's SQLite storage formats), and the guards are the
/// model's concurrency tokens: a consumption row is claimed only while unbilled and unchanged, a year position moves
/// only from the value the bill was computed on, a new position fails the primary key if one appeared meanwhile;
/// otherwise <see cref="DbUpdateConcurrencyException"/> (or the constraint error) and the batch is retried.
/// Call <see cref="Flush"/> before the transaction commits.
/// </summary>
internal sealed class SqliteBillWriter : IDisposable
{
    /// <summary>
    /// Rows per INSERT statement. Measured (50 000 accounts): 1 row writes 1.6–1.8× faster than 8 and 5× than 64,
    /// because Microsoft.Data.Sqlite binds every parameter by name (a search over all of the statement's names), so
    /// a wide statement costs more to bind than the executions it saves. Kept as a knob for other drivers.
    /// </summary>
    private const int RowsPerInsert = 1;

    private const string BillColumns = """
        "Id", "RunId", "Status", "BalanceBroughtForwardFen", "UserNumber", "PeriodStart", "PeriodEnd",
        "PreviousRegisterLitres", "CurrentRegisterLitres", "VolumeLitres", "YearToDateLitres", "AmountFen", "DueDate",
        "TariffCode", "IssuedAt"
        """;

    private const string LineColumns = """
        "BillId", "LineNumber", "Year", "Tier", "VolumeLitres", "PriceFenPerM3", "AmountFen", "TariffName"
        """;

    private readonly DbConnection _connection;
    private readonly DbTransaction _transaction;
    private readonly DbCommand _claimConsumption;
    private readonly DbCommand _movePosition;
    // Multi-row INSERT commands by table and row count (a full group and at most one remainder per table).
    private readonly Dictionary<(string Table, int Rows), DbCommand> _inserts = [];
    private readonly List<object[]> _bills = [];
    private readonly List<object[]> _lines = [];
    private readonly List<object[]> _positions = [];

    public SqliteBillWriter(BillingDbContext db)
    {
        _connection = db.Database.GetDbConnection();
        _transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("a billing batch is written inside its transaction");
        _claimConsumption = Command(
            """
            UPDATE "Consumptions" SET "BillId" = $p0
            WHERE "Id" = $p1 AND "BillId" IS NULL AND "ConsumptionLitres" = $p2
            """, 3);
        _movePosition = Command(
            """
            UPDATE "YearPositions" SET "BilledLitres" = $p0
            WHERE "UserNumber" = $p1 AND "Year" = $p2 AND "BilledLitres" = $p3
            """, 4);
    }

    public void InsertBill(Bill bill)
    {
        _bills.Add([Text(bill.Id), bill.RunId is { } run ? Text(run) : DBNull.Value, bill.Status.ToString(),
            bill.BalanceBroughtForwardFen is { } balance ? balance : DBNull.Value, bill.UserNumber,
            Text(bill.PeriodStart), Text(bill.PeriodEnd), bill.PreviousRegisterLitres, bill.CurrentRegisterLitres,
            bill.VolumeLitres, bill.YearToDateLitres, bill.AmountFen, Text(bill.DueDate), bill.TariffCode, Text(bill.IssuedAt)]);
        foreach (var line in bill.Lines)
            _lines.Add([Text(bill.Id), line.LineNumber, line.Year, line.Tier, line.VolumeLitres,
                line.PriceFenPerM3, line.AmountFen, line.TariffName]);
    }

    /// <summary>Claims an unbilled consumption row for a bill, as long as nobody billed or corrected it meanwhile.</summary>
    public void Claim(Consumption row, Guid billId)
    {
        if (Execute(_claimConsumption, Text(billId), row.Id, row.ConsumptionLitres) != 1)
            throw new DbUpdateConcurrencyException($"consumption {row.Id} was billed or corrected meanwhile; the batch is retried");
    }

    /// <summary>Moves a year position from <paramref name="before"/> (null: none yet) to <paramref name="after"/>.</summary>
    public void MovePosition(string userNumber, int year, long? before, long after)
    {
        if (before is { } from)
        {
            if (from != after && Execute(_movePosition, after, userNumber, year, from) != 1)
                throw new DbUpdateConcurrencyException($"the {year} position of {userNumber} moved meanwhile; the batch is retried");
        }
        else
        {
            // A position inserted meanwhile fails the primary key, and the batch is retried as well.
            _positions.Add([userNumber, year, after]);
        }
    }

    /// <summary>Inserts the buffered bills, then their lines (their foreign key needs the bills), then new positions.</summary>
    public void Flush()
    {
        Insert("Bills", BillColumns, 15, _bills);
        Insert("BillLines", LineColumns, 8, _lines);
        Insert("YearPositions", "\"UserNumber\", \"Year\", \"BilledLitres\"", 3, _positions);
    }

    public void Dispose()
    {
        _claimConsumption.Dispose();
        _movePosition.Dispose();
        foreach (var command in _inserts.Values)
            command.Dispose();
    }

    private void Insert(string table, string columns, int width, List<object[]> rows)
    {
        for (var start = 0; start < rows.Count; start += RowsPerInsert)
        {
            var count = Math.Min(RowsPerInsert, rows.Count - start);
            if (!_inserts.TryGetValue((table, count), out var command))
            {
                var values = string.Join(",\n", Enumerable.Range(0, count).Select(r =>
                    "(" + string.Join(", ", Enumerable.Range(0, width).Select(c => "$p" + (r * width + c))) + ")"));
                _inserts[(table, count)] = command = Command($"INSERT INTO \"{table}\" ({columns}) VALUES\n{values}", count * width);
            }
            for (var r = 0; r < count; r++)
            {
                var row = rows[start + r];
                for (var c = 0; c < width; c++)
                    command.Parameters[r * width + c].Value = row[c];
            }
            command.ExecuteNonQuery();
        }
        rows.Clear();
    }

    private DbCommand Command(string sql, int parameters)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        for (var i = 0; i < parameters; i++)
            command.AddParameter("$p" + i);
        command.Prepare();
        return command;
    }

    private static int Execute(DbCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
            command.Parameters[i].Value = values[i];
        return command.ExecuteNonQuery();
    }

    // EF Core's SQLite storage formats: GUIDs as upper-case text, dates and times as ISO text.
    private static string Text(Guid value) => value.ToString().ToUpperInvariant();

    private static string Text(DateOnly value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Text(DateTime value) => value.ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF", CultureInfo.InvariantCulture);
}
