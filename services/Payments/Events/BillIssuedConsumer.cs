using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Payments.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Metering.Payments.Events;

/// <summary>
/// Turns a run's bills into receivables (once per bill id, whichever message carries it), then
/// lets accounts that hold credit pay their open bills with it, oldest first. On SQLite the bills are
/// written by statements on the raw SQLite handle (<see cref="ReceivableBulkWriter"/>); SQL Server, and SQLite
/// with <c>Payments:PreparedBills=false</c>, take the EF Core path. Both write the same rows and events.
/// </summary>
public sealed class BillIssuedConsumer(PaymentsDbContext db, TimeProvider clock, IOptions<PaymentsOptions> options)
    : IdempotentConsumer<PaymentsDbContext, BillIssued>(db)
{
    protected override async Task HandleAsync(BillIssued message, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (options.Value.PreparedBills && Db.Database.IsSqlite())
        {
            var withCredit = ReceivableBulkWriter.Write(Db, message, now);
            // Rare (accounts that hold credit): EF Core reads the rows just written, in the same transaction.
            foreach (var accountId in withCredit)
            {
                var ledger = await Db.LedgerAccounts.SingleAsync(a => a.Id == accountId, cancellationToken);
                await Ledger.ApplyCreditAsync(Db, ledger, now, cancellationToken);
            }
            return;
        }

        var billIds = message.Bills.Select(b => b.BillId).ToList();
        var known = (await Db.Receivables
            .Where(r => billIds.Contains(r.BillId))
            .Select(r => r.BillId)
            .ToListAsync(cancellationToken)).ToHashSet();
        var fresh = message.Bills.Where(b => !known.Contains(b.BillId)).DistinctBy(b => b.BillId).ToList();
        if (fresh.Count == 0)
            return;

        var userNumbers = fresh.Select(b => b.UserNumber).Distinct().ToList();
        var accounts = await Db.LedgerAccounts
            .Where(a => userNumbers.Contains(a.UserNumber))
            .ToDictionaryAsync(a => a.UserNumber, cancellationToken);
        // Accounts that got a bill, in the order of their first one (the order credit is applied in).
        var billed = new List<LedgerAccount>();
        var seen = new HashSet<LedgerAccount>(ReferenceEqualityComparer.Instance);
        foreach (var bill in fresh)
        {
            if (!accounts.TryGetValue(bill.UserNumber, out var account))
            {
                // Billing's event overtook Accounts' AccountOpened: keep the bill; AccountOpened fills in the holder.
                account = new LedgerAccount { UserNumber = bill.UserNumber, CreatedAt = now };
                Db.LedgerAccounts.Add(account);
                accounts.Add(bill.UserNumber, account);
            }
            Db.Receivables.Add(new Receivable
            {
                BillId = bill.BillId,
                Account = account,
                RunId = message.RunId,
                PeriodStart = bill.PeriodStart,
                PeriodEnd = bill.PeriodEnd,
                VolumeLitres = bill.VolumeLitres,
                AmountFen = bill.AmountFen,
                DueDate = bill.DueDate,
                IssuedAt = message.OccurredAt.UtcDateTime,
            });
            // A negative bill (an estimate corrected by a lower actual reading) is never open: it is credit.
            if (bill.AmountFen < 0)
                account.CreditFen -= bill.AmountFen;
            if (seen.Add(account))
                billed.Add(account);
        }
        // Even a bill alone changes what a concurrent payment would allocate: make that payment retry. Once per
        // message and account, as on the SQLite path.
        foreach (var account in billed)
            account.Touch();
        // Saved now so that the new receivables have their issue order (ids) before credit is allocated.
        await Db.SaveChangesAsync(cancellationToken);

        foreach (var account in billed)
            await Ledger.ApplyCreditAsync(Db, account, now, cancellationToken);
    }
}
