using System.Collections.Concurrent;
using System.Globalization;
using Metering.Hosting.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Data;

/// <summary>An account's balance as the ledger holds it: its credit, holder, and open bills oldest first.</summary>
public sealed record LedgerBalance(long CreditFen, string? HolderName, string? Address, IReadOnlyList<OpenReceivable> Unpaid)
{
    public long OutstandingFen => Unpaid.Sum(r => r.AmountFen - r.PaidFen);
}

public sealed record OpenReceivable(
    Guid BillId, DateOnly PeriodStart, DateOnly PeriodEnd, long VolumeLitres, long AmountFen, long PaidFen, DateOnly DueDate);

/// <summary>
/// Reads balances, the channels' most frequent call. On SQLite one prepared statement on a connection kept
/// open answers it: EF Core's query pipeline and a connection opened per request cost several times the
/// lookup itself. Other providers (and <see cref="ReadWithEfAsync"/>, the reference the tests compare
/// against) go through EF Core.
/// </summary>
public sealed class BalanceReader(IConfiguration configuration) : IDisposable
{
    // One statement: the credit and the bills come from the same committed state.
    private const string Sql = """
        SELECT a.CreditFen, a.HolderName, a.Address,
               r.BillId, r.PeriodStart, r.PeriodEnd, r.VolumeLitres, r.AmountFen, r.PaidFen, r.DueDate
        FROM LedgerAccounts a
        LEFT JOIN Receivables r ON r.LedgerAccountId = a.Id AND r.CancelledAt IS NULL AND r.AmountFen > r.PaidFen
        WHERE a.UserNumber = $user
        ORDER BY r.PeriodEnd, r.Id
        """;

    private readonly bool _sqlite = ServiceDatabase.Provider(configuration) == DatabaseProvider.Sqlite;
    private readonly string? _connectionString = configuration.GetConnectionString("Payments");
    private readonly bool _memoryMap = configuration.GetValue("Payments:MemoryMap", false);
    private readonly ConcurrentBag<PreparedQuery> _idle = [];

    /// <param name="db">Asked for only off SQLite: the caller need not create a DbContext for a balance.</param>
    public Task<LedgerBalance?> ReadAsync(Func<PaymentsDbContext> db, string userNumber, CancellationToken cancellationToken) =>
        _sqlite ? Task.FromResult(ReadWithSqlite(userNumber)) : ReadWithEfAsync(db(), userNumber, cancellationToken);

    public LedgerBalance? ReadWithSqlite(string userNumber)
    {
        var query = _idle.TryTake(out var idle) ? idle : new PreparedQuery(_connectionString!, _memoryMap);
        try
        {
            var balance = query.Read(userNumber);
            _idle.Add(query);
            return balance;
        }
        catch
        {
            // A connection in an unknown state is not put back.
            query.Dispose();
            throw;
        }
    }

    public static async Task<LedgerBalance?> ReadWithEfAsync(PaymentsDbContext db, string userNumber, CancellationToken cancellationToken)
    {
        var ledger = await db.LedgerAccounts.AsNoTracking()
            .Where(a => a.UserNumber == userNumber)
            .Select(a => new
            {
                a.CreditFen,
                a.HolderName,
                a.Address,
                Unpaid = a.Receivables
                    .Where(r => r.CancelledAt == null && r.AmountFen > r.PaidFen)
                    .OrderBy(r => r.PeriodEnd).ThenBy(r => r.Id)
                    .Select(r => new OpenReceivable(r.BillId, r.PeriodStart, r.PeriodEnd, r.VolumeLitres, r.AmountFen, r.PaidFen, r.DueDate))
                    .ToList(),
            })
            .SingleOrDefaultAsync(cancellationToken);
        return ledger is null ? null : new LedgerBalance(ledger.CreditFen, ledger.HolderName, ledger.Address, ledger.Unpaid);
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var query))
            query.Dispose();
    }

    private sealed class PreparedQuery : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _command;
        private readonly SqliteParameter _user;

        public PreparedQuery(string connectionString, bool memoryMap)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            if (memoryMap)
            {
                using var map = _connection.CreateCommand();
                // Each posting's commit empties this connection's page cache (WAL): read pages through the map.
                map.CommandText = SqlitePaymentWriter.MemoryMapPragma;
                map.ExecuteNonQuery();
            }
            _command = _connection.CreateCommand();
            _command.CommandText = Sql;
            _user = _command.Parameters.Add("$user", SqliteType.Text);
            _command.Prepare();
        }

        public LedgerBalance? Read(string userNumber)
        {
            _user.Value = userNumber;
            using var reader = _command.ExecuteReader();
            if (!reader.Read())
                return null;
            var credit = reader.GetInt64(0);
            var holder = reader.IsDBNull(1) ? null : reader.GetString(1);
            var address = reader.IsDBNull(2) ? null : reader.GetString(2);
            var unpaid = new List<OpenReceivable>();
            do
            {
                if (reader.IsDBNull(3))
                    break; // the account has no open bill: the LEFT JOIN's one row
                unpaid.Add(new OpenReceivable(
                    Guid.Parse(reader.GetString(3)), Date(reader.GetString(4)), Date(reader.GetString(5)),
                    reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), Date(reader.GetString(9))));
            }
            while (reader.Read());
            return new LedgerBalance(credit, holder, address, unpaid);
        }

        private static DateOnly Date(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

        public void Dispose()
        {
            _command.Dispose();
            _connection.Dispose();
        }
    }
}
