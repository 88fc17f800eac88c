namespace Metering.Payments.Domain;

/// <summary>A bill with something left to pay. <paramref name="IssueOrder"/> breaks ties between bills of one period end.</summary>
public sealed record OpenBill(Guid BillId, DateOnly PeriodEnd, long IssueOrder, long OutstandingFen);

/// <summary>Part of an amount applied to one bill.</summary>
public sealed record BillShare(Guid BillId, long AmountFen);

/// <summary>How an amount splits: shares of bills, oldest first, and what is left over (it becomes credit).</summary>
public sealed record AllocationPlan(IReadOnlyList<BillShare> Shares, long LeftoverFen)
{
    public long AllocatedFen => Shares.Sum(s => s.AmountFen);
}

/// <summary>
/// Money settles the oldest bill first (earliest period end, then the order of issue); partial
/// payment of a bill is fine; whatever no bill needs is left over. The same rule applies to a
/// payment and to credit applied to newly issued bills.
/// </summary>
public static class OldestFirst
{
    public static AllocationPlan Allocate(long amountFen, IEnumerable<OpenBill> bills)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amountFen);
        var left = amountFen;
        var shares = new List<BillShare>();
        foreach (var bill in bills.Where(b => b.OutstandingFen > 0).OrderBy(b => b.PeriodEnd).ThenBy(b => b.IssueOrder))
        {
            if (left == 0)
                break;
            var share = Math.Min(left, bill.OutstandingFen);
            shares.Add(new BillShare(bill.BillId, share));
            left -= share;
        }
        return new AllocationPlan(shares, left);
    }
}
