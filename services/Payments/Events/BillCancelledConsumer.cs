using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Payments.Data;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Events;

/// <summary>
/// A cancelled bill is owed no more. What had been paid on it becomes the account's credit, which
/// pays its other open bills (or the replacing bill when it arrives), oldest first.
/// </summary>
public sealed class BillCancelledConsumer(PaymentsDbContext db, TimeProvider clock)
    : IdempotentConsumer<PaymentsDbContext, BillCancelled>(db)
{
    protected override async Task HandleAsync(BillCancelled message, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var receivable = await Db.Receivables.Include(r => r.Account)
            .SingleOrDefaultAsync(r => r.BillId == message.BillId, cancellationToken);
        if (receivable is null)
        {
            // The cancellation overtook the bill's BillIssued: keep a cancelled receivable so that the bill,
            // when it arrives, is recognised as known and never becomes owed.
            var account = await Db.LedgerAccounts.SingleOrDefaultAsync(a => a.UserNumber == message.UserNumber, cancellationToken);
            if (account is null)
            {
                account = new LedgerAccount { UserNumber = message.UserNumber, CreatedAt = now };
                Db.LedgerAccounts.Add(account);
            }
            Db.Receivables.Add(new Receivable
            {
                BillId = message.BillId,
                Account = account,
                AmountFen = message.AmountFen,
                IssuedAt = now,
                CancelledAt = message.OccurredAt.UtcDateTime,
            });
            account.Touch();
            return;
        }
        if (receivable.CancelledAt is not null)
            return;

        var ledger = receivable.Account;
        receivable.CancelledAt = message.OccurredAt.UtcDateTime;
        // The money stays the payer's: paid on the bill, it is now credit. A negative bill's credit is withdrawn.
        ledger.CreditFen += receivable.AmountFen < 0 ? receivable.AmountFen : receivable.PaidFen;
        ledger.Touch();
        await Db.SaveChangesAsync(cancellationToken);
        await Ledger.ApplyCreditAsync(Db, ledger, now, cancellationToken);
    }
}
