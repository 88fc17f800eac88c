using System.Data.Common;
using System.Globalization;
using Metering.Billing.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Metering.Billing.Data;

/// <summary>What a billing-run batch is computed from: its accounts' unbilled rows, year positions and sizes.</summary>
internal sealed class BatchInput
{
    /// <summary>Unbilled rows of the batch's accounts, by user number then period (what the bill walks through).</summary>
    public List<Consumption> Rows { get; } = [];

    public Dictionary<string, (int Persons, DateOnly OpenedOn, long? BalanceFen)> Accounts { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Dictionary<int, long>> Positions { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, List<HouseholdSize>> Sizes { get; } = new(StringComparer.Ordinal);

    /// <summary>The last user number read: where the next batch of the chunk starts (null: nothing left).</summary>
    public string? LastAccount { get; set; }
}

/// <summary>
/// Reads a chunk's batches on SQLite with three commands prepared once per chunk: the next accounts' unbilled rows
/// joined with their accounts (a range of the filtered unbilled index, in user-number order, stopping after the
/// batch's last account), then the year positions and household sizes of that user-number range (primary-key
/// ranges). Replaces a paging query and four EF Core queries per batch, without materialising entities through
/// EF Core; the rows are the same the EF Core path reads.
/// </summary>
internal sealed class SqliteBatchReader : IDisposable
{
    private readonly BillingDbContext _db;
    private readonly DbCommand _rows;
    private readonly DbCommand _positions;
    private readonly DbCommand _sizes;

    public SqliteBatchReader(BillingDbContext db)
    {
        _db = db;
        var connection = db.Database.GetDbConnection();
        // INDEXED BY: the filtered index holds only unbilled rows; if the planner could not use it, this fails
        // loudly instead of scanning every billed row of the table.
        _rows = Command(connection,
            """
            SELECT c."Id", c."UserNumber", c."PreviousReadOn", c."PreviousRegisterLitres", c."ReadOn", c."RegisterLitres",
                c."ConsumptionLitres", a."Persons", a."OpenedOn", a."BalanceFen"
            FROM "Consumptions" AS c INDEXED BY "IX_Consumptions_Unbilled"
            JOIN "Accounts" AS a ON a."UserNumber" = c."UserNumber"
            WHERE c."BillId" IS NULL AND c."UserNumber" >= $first AND c."UserNumber" > $after AND c."UserNumber" <= $last
                AND c."ReadOn" <= $cutOff
            ORDER BY c."UserNumber", c."ReadOn"
            """,
            "$first", "$after", "$last", "$cutOff");
        _positions = Command(connection,
            """
            SELECT "UserNumber", "Year", "BilledLitres" FROM "YearPositions"
            WHERE "UserNumber" >= $first AND "UserNumber" <= $last
            """,
            "$first", "$last");
        _sizes = Command(connection,
            """
            SELECT "UserNumber", "EffectiveOn", "Persons" FROM "HouseholdSizes"
            WHERE "UserNumber" >= $first AND "UserNumber" <= $last
            ORDER BY "UserNumber", "EffectiveOn"
            """,
            "$first", "$last");
    }

    /// <summary>
    /// The input of the next batch: accounts with unbilled rows read on or before <paramref name="cutOff"/>, user
    /// numbers in [<paramref name="first"/>, <paramref name="last"/>] and after <paramref name="after"/>, at most
    /// <paramref name="max"/> of them; with <paramref name="only"/>, just those accounts of the range.
    /// </summary>
    public async Task<BatchInput> ReadAsync(DateOnly cutOff, string first, string after, string last, int max,
        IReadOnlySet<string>? only, CancellationToken cancellationToken)
    {
        var input = new BatchInput();
        Bind(_rows, first, after, last, Text(cutOff));
        var accounts = 0;
        string? current = null;
        await using (var reader = await _rows.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var userNumber = reader.GetString(1);
                if (userNumber != current)
                {
                    // The rows come in user-number order: the batch ends where its last account's rows end.
                    if (accounts == max)
                        break;
                    current = userNumber;
                    input.LastAccount = userNumber;
                    if (only is not null && !only.Contains(userNumber))
                        continue;
                    accounts++;
                    input.Accounts[userNumber] = (reader.GetInt32(7), Date(reader.GetString(8)),
                        reader.IsDBNull(9) ? null : reader.GetInt64(9));
                }
                else if (!input.Accounts.ContainsKey(userNumber))
                {
                    continue;
                }
                input.Rows.Add(new Consumption
                {
                    Id = reader.GetInt64(0),
                    UserNumber = userNumber,
                    PreviousReadOn = Date(reader.GetString(2)),
                    PreviousRegisterLitres = reader.GetInt64(3),
                    ReadOn = Date(reader.GetString(4)),
                    RegisterLitres = reader.GetInt64(5),
                    ConsumptionLitres = reader.GetInt64(6),
                    // Not read (the run does not use them); these rows are never saved through EF Core.
                    Kind = "",
                });
            }
        }
        if (input.Accounts.Count == 0)
            return input;

        // An account's rows in the order the EF Core path reads them (the index gives user number and date only).
        input.Rows.Sort(static (x, y) =>
        {
            var c = string.CompareOrdinal(x.UserNumber, y.UserNumber);
            if (c == 0) c = x.ReadOn.CompareTo(y.ReadOn);
            if (c == 0) c = x.PreviousReadOn.CompareTo(y.PreviousReadOn);
            return c != 0 ? c : x.Id.CompareTo(y.Id);
        });
        var low = input.Rows[0].UserNumber;
        var high = input.Rows[^1].UserNumber;

        Bind(_positions, low, high);
        await using (var reader = await _positions.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var userNumber = reader.GetString(0);
                if (!input.Accounts.ContainsKey(userNumber))
                    continue;
                if (!input.Positions.TryGetValue(userNumber, out var years))
                    input.Positions[userNumber] = years = [];
                years[reader.GetInt32(1)] = reader.GetInt64(2);
            }
        }

        Bind(_sizes, low, high);
        await using (var reader = await _sizes.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var userNumber = reader.GetString(0);
                if (!input.Accounts.ContainsKey(userNumber))
                    continue;
                if (!input.Sizes.TryGetValue(userNumber, out var sizes))
                    input.Sizes[userNumber] = sizes = [];
                sizes.Add(new HouseholdSize(Date(reader.GetString(1)), reader.GetInt32(2)));
            }
        }
        return input;
    }

    public void Dispose()
    {
        _rows.Dispose();
        _positions.Dispose();
        _sizes.Dispose();
    }

    private void Bind(DbCommand command, params object[] values)
    {
        // Inside a batch's transaction the command must carry it; a trial reads outside any.
        command.Transaction = _db.Database.CurrentTransaction?.GetDbTransaction();
        for (var i = 0; i < values.Length; i++)
            command.Parameters[i].Value = values[i];
    }

    private static DbCommand Command(DbConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            command.Parameters.Add(parameter);
        }
        command.Prepare();
        return command;
    }

    // EF Core's SQLite storage format for DateOnly.
    private static string Text(DateOnly value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static DateOnly Date(string value) => DateOnly.ParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture);
}
