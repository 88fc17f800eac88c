using System.Data.Common;
using System.Globalization;
using Metering.Contracts.Events;
using Metering.Hosting.Data;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Data;

/// <summary>
/// Writes a run's bills into the ledger on SQLite with prepared commands, in the consumer's transaction:
/// a BillIssued carries hundreds of bills, and EF Core's tracked inserts cost several times more per row.
/// Values are written the way EF Core stores them (Guid upper-case text, DateOnly <c>yyyy-MM-dd</c>), so EF
/// reads the rows back unchanged.
/// </summary>
public static class ReceivableBulkWriter
{
    private const string DateFormat = "yyyy-MM-dd";
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.FFFFFFF";
    private const int CacheKiB = 64 * 1024;

    /// <summary>
    /// Inserts the bills not yet known (the unique index on the bill id decides, so a bill carried twice is
    /// taken once), creates accounts Billing's event reached before Accounts' did, adds negative bills to the
    /// accounts' credit and bumps the version of every account that got a bill (a concurrent payment retries).
    /// Returns the ids of accounts that now hold credit: their credit is to be applied to the new bills.
    /// </summary>
    public static async Task<IReadOnlyList<long>> WriteAsync(
        PaymentsDbContext db, BillIssued message, DateTime now, CancellationToken cancellationToken)
    {
        var nowText = now.ToString(TimeFormat, CultureInfo.InvariantCulture);

        // The bill-id index takes keys all over its range; with SQLite's default 2 MB page cache every insert
        // would read its leaf page back from the OS. The setting stays with the (pooled) connection.
        await using (var cache = db.CreateCommandInTransaction($"PRAGMA cache_size = -{CacheKiB}"))
            await cache.ExecuteNonQueryAsync(cancellationToken);

        // One statement per bill: the account by user number, the bill unless its id is known. It answers the
        // account only when the bill was new.
        await using var insert = db.CreateCommandInTransaction("""
            INSERT INTO Receivables (BillId, LedgerAccountId, RunId, PeriodStart, PeriodEnd, VolumeLitres, AmountFen, PaidFen,
                                     DueDate, IssuedAt, CancelledAt)
            SELECT $bill, a.Id, $run, $start, $end, $volume, $amount, 0, $due, $issued, NULL
            FROM LedgerAccounts a WHERE a.UserNumber = $user
            ON CONFLICT (BillId) DO NOTHING
            RETURNING LedgerAccountId
            """);
        var bill = insert.AddParameter("$bill");
        var user = insert.AddParameter("$user");
        insert.AddParameter("$run").Value = message.RunId.ToString().ToUpperInvariant();
        var start = insert.AddParameter("$start");
        var end = insert.AddParameter("$end");
        var volume = insert.AddParameter("$volume");
        var amount = insert.AddParameter("$amount");
        var due = insert.AddParameter("$due");
        insert.AddParameter("$issued").Value = message.OccurredAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

        await using var openAccount = db.CreateCommandInTransaction("""
            INSERT INTO LedgerAccounts (UserNumber, CreditFen, Version, CreatedAt) VALUES ($user, 0, 0, $now)
            ON CONFLICT (UserNumber) DO NOTHING
            """);
        var openUser = openAccount.AddParameter("$user");
        openAccount.AddParameter("$now").Value = nowText;

        // Per account: the credit its negative bills add. Every account in here got at least one new bill.
        var touched = new Dictionary<long, long>();
        foreach (var issued in message.Bills)
        {
            bill.Value = issued.BillId.ToString().ToUpperInvariant();
            user.Value = issued.UserNumber;
            start.Value = issued.PeriodStart.ToString(DateFormat, CultureInfo.InvariantCulture);
            end.Value = issued.PeriodEnd.ToString(DateFormat, CultureInfo.InvariantCulture);
            volume.Value = issued.VolumeLitres;
            amount.Value = issued.AmountFen;
            due.Value = issued.DueDate.ToString(DateFormat, CultureInfo.InvariantCulture);
            var accountId = await insert.ExecuteScalarAsync(cancellationToken);
            if (accountId is null)
            {
                // Known bill (an earlier message, a cancellation that overtook it, twice in this one), or an
                // account Billing's event reached before Accounts' AccountOpened: open it (AccountOpened fills
                // in the holder later) and try once more; a known bill stays known.
                openUser.Value = issued.UserNumber;
                if (await openAccount.ExecuteNonQueryAsync(cancellationToken) == 0)
                    continue;
                accountId = await insert.ExecuteScalarAsync(cancellationToken);
                if (accountId is null)
                    continue;
            }

            // A negative bill (an estimate corrected by a lower actual reading) is never open: it is credit.
            var id = Convert.ToInt64(accountId, CultureInfo.InvariantCulture);
            touched[id] = touched.GetValueOrDefault(id) + (issued.AmountFen < 0 ? -issued.AmountFen : 0);
        }

        await using var touch = db.CreateCommandInTransaction("""
            UPDATE LedgerAccounts SET Version = Version + 1, CreditFen = CreditFen + $credit WHERE Id = $id RETURNING CreditFen
            """);
        var credit = touch.AddParameter("$credit");
        var accountParameter = touch.AddParameter("$id");
        var withCredit = new List<long>();
        foreach (var (accountId, creditAdded) in touched)
        {
            accountParameter.Value = accountId;
            credit.Value = creditAdded;
            if (Convert.ToInt64(await touch.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0)
                withCredit.Add(accountId);
        }
        return withCredit;
    }
}
