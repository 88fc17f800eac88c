using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Metering.Payments.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Data;

/// <summary>The answer to a reversal; a repeated reversal gets the stored answer with <see cref="Replayed"/> set.</summary>
public sealed record ReversedPayment(
    Guid PaymentId, IReadOnlyList<BillShare> Undone, long CreditTakenFen, long OutstandingFen, long CreditFen,
    DateTime ReversedAt, bool Replayed);

/// <summary>
/// Reverses a channel's payment (a refund): its money leaves the ledger, the bills it paid are open
/// again, and <c>PaymentReversed</c> goes out, in one transaction. Reversing twice answers the first
/// reversal; concurrent reversals collide on the account's version and the loser replays.
/// </summary>
public sealed class PaymentReverser(PaymentsDbContext db, LedgerWriteGate gate, TimeProvider clock, ILogger<PaymentReverser> logger)
{
    private const int MaxAttempts = 10;

    public async Task<ReversedPayment> ReverseAsync(
        PaymentChannel channel, string channelTransactionId, string? reason, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ReverseOnceAsync(channel, channelTransactionId, reason, cancellationToken);
            }
            catch (DbUpdateConcurrencyException) when (attempt < MaxAttempts)
            {
                db.ChangeTracker.Clear();
                logger.LogDebug("Ledger changed while reversing {Channel} {Transaction}; attempt {Attempt} retries",
                    channel, channelTransactionId, attempt);
                await Task.Delay(Random.Shared.Next(5, 20 * attempt), cancellationToken);
            }
        }
    }

    private async Task<ReversedPayment> ReverseOnceAsync(
        PaymentChannel channel, string channelTransactionId, string? reason, CancellationToken cancellationToken)
    {
        using var turn = await gate.EnterAsync(db, cancellationToken);
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var payment = await db.Payments.Include(p => p.Account)
            .SingleOrDefaultAsync(p => p.Channel == channel.Name && p.ChannelTransactionId == channelTransactionId, cancellationToken)
            ?? throw new NotFoundException($"{channel} transaction", channelTransactionId);
        if (payment.ReversedAt is not null)
            return await ReplayAsync(payment, cancellationToken);

        var account = payment.Account;
        var own = await db.Allocations
            .Where(a => a.PaymentId == payment.Id && a.Source == AllocationSource.Payment && a.Receivable.CancelledAt == null)
            .OrderByDescending(a => a.Id)
            .Select(a => new UndoableAllocation(a.Id, a.Receivable.BillId, a.AmountFen))
            .ToListAsync(cancellationToken);
        // Credit allocations net of what earlier reversals already undid, newest first.
        var fromCredit = await db.Allocations
            .Where(a => a.Receivable.LedgerAccountId == account.Id && a.Source == AllocationSource.Credit
                && a.Receivable.CancelledAt == null)
            .OrderByDescending(a => a.Id)
            .Select(a => new UndoableAllocation(a.Id, a.Receivable.BillId,
                a.AmountFen + (db.Allocations.Where(u => u.UndoesAllocationId == a.Id).Sum(u => (long?)u.AmountFen) ?? 0)))
            .ToListAsync(cancellationToken);
        var plan = Reversal.Plan(payment.AmountFen, own, account.CreditFen, fromCredit);

        var billIds = plan.Undone.Select(u => u.BillId).Distinct().ToList();
        var receivables = await db.Receivables.Where(r => billIds.Contains(r.BillId)).ToDictionaryAsync(r => r.BillId, cancellationToken);
        foreach (var undo in plan.Undone)
        {
            var receivable = receivables[undo.BillId];
            receivable.PaidFen -= undo.AmountFen;
            db.Allocations.Add(new Allocation
            {
                Receivable = receivable,
                Source = AllocationSource.Reversal,
                PaymentId = payment.Id,
                UndoesAllocationId = undo.AllocationId,
                AmountFen = -undo.AmountFen,
                CreatedAt = now.UtcDateTime,
            });
        }
        account.CreditFen -= plan.CreditTakenFen;
        account.Touch();
        await db.SaveChangesAsync(cancellationToken);

        payment.ReversedAt = now.UtcDateTime;
        payment.ReversalReason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim()[..Math.Min(reason.Trim().Length, 200)];
        payment.ReversalCreditTakenFen = plan.CreditTakenFen;
        payment.ReversalOutstandingAfterFen = await Ledger.OutstandingAsync(db, account.Id, cancellationToken);
        payment.ReversalCreditAfterFen = account.CreditFen;

        var undone = plan.Undone.Select(u => new BillShare(u.BillId, u.AmountFen)).ToList();
        db.Publish(new PaymentReversed(payment.Id, payment.UserNumber, payment.Channel, payment.ChannelTransactionId,
            payment.AmountFen, undone.Select(u => new PaymentAllocationLine(u.BillId, u.AmountFen)).ToList(), now));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ReversedPayment(payment.Id, undone, plan.CreditTakenFen, payment.ReversalOutstandingAfterFen,
            payment.ReversalCreditAfterFen, payment.ReversedAt.Value, Replayed: false);
    }

    private async Task<ReversedPayment> ReplayAsync(Payment payment, CancellationToken cancellationToken)
    {
        var undone = await db.Allocations.AsNoTracking()
            .Where(a => a.PaymentId == payment.Id && a.Source == AllocationSource.Reversal)
            .OrderBy(a => a.Id)
            .Select(a => new BillShare(a.Receivable.BillId, -a.AmountFen))
            .ToListAsync(cancellationToken);
        return new ReversedPayment(payment.Id, undone, payment.ReversalCreditTakenFen, payment.ReversalOutstandingAfterFen,
            payment.ReversalCreditAfterFen, DateTime.SpecifyKind(payment.ReversedAt!.Value, DateTimeKind.Utc), Replayed: true);
    }
}
