namespace Metering.Payments.Domain;

/// <summary>An allocation that a reversal may undo (wholly or in part).</summary>
public sealed record UndoableAllocation(long AllocationId, Guid BillId, long AmountFen);

/// <summary>What reversing a payment does: the allocations undone (bills open again) and the credit taken back.</summary>
public sealed record ReversalPlan(IReadOnlyList<UndoableAllocation> Undone, long CreditTakenFen)
{
    public long UndoneFen => Undone.Sum(u => u.AmountFen);
}

/// <summary>
/// A reversal takes the payment's whole amount back out of the ledger. First its own allocations
/// on live bills are undone; the rest of its money sits in the account's credit (an overpayment,
/// or a bill cancelled after it was paid) and is taken from there; when the credit has since paid
/// newer bills, those credit allocations are undone, newest first, until the amount is covered.
/// </summary>
public static class Reversal
{
    public static ReversalPlan Plan(
        long paymentAmountFen,
        IEnumerable<UndoableAllocation> ownAllocationsOnLiveBills,
        long creditFen,
        IEnumerable<UndoableAllocation> creditAllocationsNewestFirst)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(paymentAmountFen);
        var undone = new List<UndoableAllocation>();
        var left = paymentAmountFen;
        foreach (var own in ownAllocationsOnLiveBills.Where(a => a.AmountFen > 0))
        {
            var part = Math.Min(left, own.AmountFen);
            undone.Add(own with { AmountFen = part });
            left -= part;
        }

        var creditTaken = Math.Min(left, Math.Max(creditFen, 0));
        left -= creditTaken;

        foreach (var fromCredit in creditAllocationsNewestFirst.Where(a => a.AmountFen > 0))
        {
            if (left == 0)
                break;
            var part = Math.Min(left, fromCredit.AmountFen);
            undone.Add(fromCredit with { AmountFen = part });
            left -= part;
        }

        // The ledger conserves money (every fen received is on a bill or in credit), so this is a bug, not bad input.
        if (left != 0)
            throw new InvalidOperationException($"the ledger cannot account for {left} fen of the payment being reversed");
        return new ReversalPlan(undone, creditTaken);
    }
}
