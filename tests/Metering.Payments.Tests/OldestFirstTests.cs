using FsCheck;
using FsCheck.Xunit;
using Metering.Payments.Domain;

namespace Metering.Payments.Tests;

public class OldestFirstTests
{
    // DESIGN.md's worked example: the year's three quarterly bills.
    private static readonly Guid Q1 = Guid.Parse("00000000-0000-0000-0000-000000000001");
    private static readonly Guid Q2 = Guid.Parse("00000000-0000-0000-0000-000000000002");
    private static readonly Guid Q3 = Guid.Parse("00000000-0000-0000-0000-000000000003");

    private static readonly OpenBill[] ThreeQuarters =
    [
        new(Q1, new DateOnly(2026, 3, 31), 1, 33_200),
        new(Q2, new DateOnly(2026, 6, 30), 2, 17_158),
        new(Q3, new DateOnly(2026, 9, 30), 3, 52_290),
    ];

    public static TheoryData<long, (Guid, long)[], long> Payments => new()
    {
        // Settles the first bill and part of the second.
        { 50_000, [(Q1, 33_200), (Q2, 16_800)], 0 },
        { 1, [(Q1, 1)], 0 },
        { 33_200, [(Q1, 33_200)], 0 },
        { 33_201, [(Q1, 33_200), (Q2, 1)], 0 },
        // Exactly what is owed.
        { 102_648, [(Q1, 33_200), (Q2, 17_158), (Q3, 52_290)], 0 },
        // An overpayment leaves credit.
        { 110_000, [(Q1, 33_200), (Q2, 17_158), (Q3, 52_290)], 7_352 },
        { 0, [], 0 },
    };

    [Theory]
    [MemberData(nameof(Payments))]
    public void A_payment_settles_the_oldest_bills_first(long amount, (Guid, long)[] expected, long leftover)
    {
        var plan = OldestFirst.Allocate(amount, ThreeQuarters);

        Assert.Equal(expected.Select(e => new BillShare(e.Item1, e.Item2)), plan.Shares);
        Assert.Equal(leftover, plan.LeftoverFen);
    }

    [Fact]
    public void Bills_are_ordered_by_period_end_whatever_order_they_come_in() =>
        Assert.Equal([Q1, Q2], OldestFirst.Allocate(40_000, ThreeQuarters.Reverse()).Shares.Select(s => s.BillId));

    [Fact]
    public void Bills_of_one_period_end_are_paid_in_the_order_they_were_issued()
    {
        var end = new DateOnly(2026, 12, 31);
        var bills = new OpenBill[] { new(Q2, end, 7, 100), new(Q1, end, 3, 100) };

        Assert.Equal([new BillShare(Q1, 100), new BillShare(Q2, 50)], OldestFirst.Allocate(150, bills).Shares);
    }

    [Fact]
    public void Without_open_bills_everything_is_left_over()
    {
        var plan = OldestFirst.Allocate(5_000, [new OpenBill(Q1, new DateOnly(2026, 3, 31), 1, 0)]);

        Assert.Empty(plan.Shares);
        Assert.Equal(5_000, plan.LeftoverFen);
    }

    [Fact]
    public void A_negative_amount_is_a_bug() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => OldestFirst.Allocate(-1, ThreeQuarters));

    [Property]
    public bool Allocations_never_exceed_what_is_owed_or_available_and_money_is_conserved(
        NonNegativeInt amount, PositiveInt[] outstanding, byte[] periodEnds)
    {
        var bills = outstanding.Select((fen, i) => new OpenBill(
            Guid.NewGuid(),
            new DateOnly(2026, 1, 1).AddDays(periodEnds.Length == 0 ? 0 : periodEnds[i % periodEnds.Length]),
            i,
            fen.Get)).ToList();
        var plan = OldestFirst.Allocate(amount.Get, bills);

        var owed = bills.ToDictionary(b => b.BillId);
        var eachWithinItsBill = plan.Shares.All(s => s.AmountFen > 0 && s.AmountFen <= owed[s.BillId].OutstandingFen);
        var onePerBill = plan.Shares.Select(s => s.BillId).Distinct().Count() == plan.Shares.Count;
        var withinMoney = plan.AllocatedFen <= amount.Get;
        var conserved = plan.AllocatedFen + plan.LeftoverFen == amount.Get && plan.LeftoverFen >= 0;
        // Money is left over only when every bill is settled.
        var leftoverOnlyWhenAllPaid = plan.LeftoverFen == 0 || plan.AllocatedFen == bills.Sum(b => b.OutstandingFen);
        // Oldest first: only the last bill touched may be paid in part, and no younger bill gets anything before it.
        var ordered = bills.OrderBy(b => b.PeriodEnd).ThenBy(b => b.IssueOrder).ToList();
        var prefix = ordered.Take(plan.Shares.Count).Select(b => b.BillId).SequenceEqual(plan.Shares.Select(s => s.BillId));
        var onlyLastPartial = plan.Shares.SkipLast(1).All(s => s.AmountFen == owed[s.BillId].OutstandingFen);
        return eachWithinItsBill && onePerBill && withinMoney && conserved && leftoverOnlyWhenAllPaid && prefix && onlyLastPartial;
    }
}
