using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Payments.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Data;

/// <summary>What applying money to an account's open bills did.</summary>
public sealed record LedgerApplication(IReadOnlyList<Allocation> Allocations, long LeftoverFen, long OutstandingAfterFen);

/// <summary>Applies money to an account's open bills, oldest first, inside the caller's transaction.</summary>
public static class Ledger
{
    /// <summary>
    /// Allocates <paramref name="amountFen"/> over the account's open bills and records the allocations
    /// (from <paramref name="payment"/>, or from credit when it is null). The caller decides where the
    /// leftover goes; the account is touched so that a concurrent writer retries.
    /// </summary>
    public static async Task<LedgerApplication> ApplyAsync(
        PaymentsDbContext db, LedgerAccount account, long amountFen, Payment? payment, DateTime now,
        CancellationToken cancellationToken)
    {
        var open = await db.Receivables
            .Where(r => r.LedgerAccountId == account.Id && r.CancelledAt == null && r.AmountFen > r.PaidFen)
            .ToListAsync(cancellationToken);
        var plan = OldestFirst.Allocate(amountFen,
            open.Select(r => new OpenBill(r.BillId, r.PeriodEnd, r.Id, r.OutstandingFen)));

        var byBill = open.ToDictionary(r => r.BillId);
        var allocations = new List<Allocation>(plan.Shares.Count);
        foreach (var share in plan.Shares)
        {
            var receivable = byBill[share.BillId];
            receivable.PaidFen += share.AmountFen;
            var allocation = new Allocation
            {
                Receivable = receivable,
                Source = payment is null ? AllocationSource.Credit : AllocationSource.Payment,
                Payment = payment,
                AmountFen = share.AmountFen,
                CreatedAt = now,
            };
            db.Allocations.Add(allocation);
            allocations.Add(allocation);
        }
        account.Touch();
        return new LedgerApplication(allocations, plan.LeftoverFen, open.Sum(r => r.OutstandingFen));
    }

    /// <summary>
    /// Uses the account's credit for its open bills; whatever no bill needs stays credit. When credit
    /// paid something, <c>PaymentAllocated</c> tells Billing the new balance.
    /// </summary>
    public static async Task ApplyCreditAsync(
        PaymentsDbContext db, LedgerAccount account, DateTime now, CancellationToken cancellationToken)
    {
        if (account.CreditFen <= 0)
            return;
        var applied = await ApplyAsync(db, account, account.CreditFen, payment: null, now, cancellationToken);
        account.CreditFen = applied.LeftoverFen;
        if (applied.Allocations.Count > 0)
            db.Publish(new PaymentAllocated(account.UserNumber, null,
                applied.Allocations.Select(a => new PaymentAllocationLine(a.Receivable.BillId, a.AmountFen)).ToList(),
                applied.OutstandingAfterFen - account.CreditFen, new DateTimeOffset(now, TimeSpan.Zero)));
    }

    /// <summary>What the account owes on its open bills as saved in the database.</summary>
    public static Task<long> OutstandingAsync(PaymentsDbContext db, long accountId, CancellationToken cancellationToken) =>
        db.Receivables
            .Where(r => r.LedgerAccountId == accountId && r.CancelledAt == null && r.AmountFen > r.PaidFen)
            .SumAsync(r => r.AmountFen - r.PaidFen, cancellationToken);
}
