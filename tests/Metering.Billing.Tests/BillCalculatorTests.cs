using Metering.Billing.Domain;

namespace Metering.Billing.Tests;

public class BillCalculatorTests
{
    private static readonly Tariff Liaocheng = Tariff.Liaocheng;

    private const string L = "liaocheng-residential";

    private static readonly DateOnly Opened = new(2026, 1, 1);

    public static TheoryData<long, long, long, BillLineItem[]> WorkedExample => new()
    {
        // DESIGN.md §4.3, readings 0 → 100 → 150 → 260 m³ in 2026.
        { 0, 100_000, 33_200, [new(2026, 1, 100_000, 332, 33_200, L)] },
        { 100_000, 50_000, 17_158, [new(2026, 1, 44_000, 332, 14_608, L), new(2026, 2, 6_000, 425, 2_550, L)] },
        { 150_000, 110_000, 52_290, [new(2026, 2, 90_000, 425, 38_250, L), new(2026, 3, 20_000, 702, 14_040, L)] },
        // All three tiers in one bill.
        { 0, 300_000, 130_728, [new(2026, 1, 144_000, 332, 47_808, L), new(2026, 2, 96_000, 425, 40_800, L), new(2026, 3, 60_000, 702, 42_120, L)] },
        // Exactly on a threshold: one tier touched.
        { 0, 144_000, 47_808, [new(2026, 1, 144_000, 332, 47_808, L)] },
        { 144_000, 96_000, 40_800, [new(2026, 2, 96_000, 425, 40_800, L)] },
        // An estimate corrected downwards walks back down the tiers: a credit, highest tier first.
        { 150_000, -20_000, -7_198, [new(2026, 2, -6_000, 425, -2_550, L), new(2026, 1, -14_000, 332, -4_648, L)] },
        { 260_000, -260_000, -102_648, [new(2026, 3, -20_000, 702, -14_040, L), new(2026, 2, -96_000, 425, -40_800, L), new(2026, 1, -144_000, 332, -47_808, L)] },
        // Nothing consumed: nothing charged.
        { 120_000, 0, 0, [] },
    };

    [Theory]
    [MemberData(nameof(WorkedExample))]
    public void A_bill_is_the_difference_of_rounded_annual_charges(long billed, long litres, long amount, BillLineItem[] lines)
    {
        var charged = BillCalculator.Charge(Liaocheng, 2026, billed, litres);

        Assert.Equal(lines, charged);
        Assert.Equal(amount, charged.Sum(l => l.AmountFen));
        Assert.Equal(Liaocheng.RoundedCharge(billed + litres) - Liaocheng.RoundedCharge(billed), amount);
    }

    [Fact]
    public void The_worked_example_adds_up_to_the_annual_charge()
    {
        var readings = new[] { 0L, 100_000, 150_000, 260_000 };
        var bills = readings.Zip(readings.Skip(1), (from, to) =>
            BillCalculator.Charge(Liaocheng, 2026, from, to - from).Sum(l => l.AmountFen)).ToList();

        Assert.Equal([33_200L, 17_158, 52_290], bills);
        Assert.Equal(102_648, bills.Sum());
        Assert.Equal(Liaocheng.RoundedCharge(260_000), bills.Sum());
    }

    [Fact]
    public void Rounding_happens_on_the_annual_charge_not_per_line()
    {
        // 1 L bills are each worth 0.332 fen: billed one by one they still add up to R(C(n)).
        long total = 0;
        for (var b = 0L; b < 10; b++)
            total += BillCalculator.Charge(Liaocheng, 2026, b, 1).Sum(l => l.AmountFen);
        Assert.Equal(Liaocheng.RoundedCharge(10), total);
        Assert.Equal(3, total);
    }

    [Fact]
    public void A_bill_over_several_intervals_walks_them_in_order()
    {
        var intervals = new[]
        {
            new ConsumptionInterval(Opened, 0, new DateOnly(2026, 3, 31), 100_000, 100_000),
            new ConsumptionInterval(new DateOnly(2026, 3, 31), 100_000, new DateOnly(2026, 6, 30), 150_000, 50_000),
        };

        var bill = BillCalculator.Bill(Liaocheng, intervals, new Dictionary<int, long>());

        Assert.Equal(150_000, bill.VolumeLitres);
        Assert.Equal(33_200 + 17_158, bill.AmountFen);
        Assert.Equal([new BillLineItem(2026, 1, 144_000, 332, 47_808, L), new BillLineItem(2026, 2, 6_000, 425, 2_550, L)], bill.Lines);
        Assert.Equal(150_000, bill.BilledLitresAfter[2026]);
    }

    [Fact]
    public void A_bill_starts_from_the_volume_already_billed_in_the_year()
    {
        var interval = new ConsumptionInterval(new DateOnly(2026, 3, 31), 100_000, new DateOnly(2026, 6, 30), 150_000, 50_000);

        var bill = BillCalculator.Bill(Liaocheng, [interval], new Dictionary<int, long> { [2026] = 100_000, [2025] = 7 });

        Assert.Equal(17_158, bill.AmountFen);
        Assert.Equal(150_000, bill.BilledLitresAfter[2026]);
        Assert.Equal(7, bill.BilledLitresAfter[2025]);
    }

    [Fact]
    public void An_interval_across_new_year_bills_each_part_against_its_own_year()
    {
        // 61 000 L from 2025-12-01 to 2026-01-31: 31 000 L to 2025 (already at 140 000 L), 30 000 L to 2026.
        var interval = new ConsumptionInterval(new DateOnly(2025, 12, 1), 500_000, new DateOnly(2026, 1, 31), 561_000, 61_000);

        var bill = BillCalculator.Bill(Liaocheng, [interval], new Dictionary<int, long> { [2025] = 140_000 });

        Assert.Equal(
        [
            new BillLineItem(2025, 1, 4_000, 332, Liaocheng.RoundedCharge(144_000) - Liaocheng.RoundedCharge(140_000), L),
            new BillLineItem(2025, 2, 27_000, 425, Liaocheng.RoundedCharge(171_000) - Liaocheng.RoundedCharge(144_000), L),
            new BillLineItem(2026, 1, 30_000, 332, 9_960, L),
        ], bill.Lines);
        Assert.Equal(61_000, bill.VolumeLitres);
        Assert.Equal(171_000, bill.BilledLitresAfter[2025]);
        Assert.Equal(30_000, bill.BilledLitresAfter[2026]);
        Assert.Equal(bill.Lines.Sum(l => l.AmountFen), bill.AmountFen);
    }

    [Fact]
    public void Lines_of_the_same_year_and_tier_are_merged()
    {
        var intervals = new[]
        {
            new ConsumptionInterval(Opened, 0, new DateOnly(2026, 2, 1), 10_000, 10_000),
            new ConsumptionInterval(new DateOnly(2026, 2, 1), 10_000, new DateOnly(2026, 3, 1), 25_000, 15_000),
        };

        var bill = BillCalculator.Bill(Liaocheng, intervals, new Dictionary<int, long>());

        Assert.Equal([new BillLineItem(2026, 1, 25_000, 332, 8_300, L)], bill.Lines);
    }

    [Fact]
    public void A_corrected_estimate_gives_a_credit()
    {
        // An estimate of 150 m³ was billed; the actual reading says 130 m³: consumption −20 m³.
        var interval = new ConsumptionInterval(new DateOnly(2026, 6, 30), 150_000, new DateOnly(2026, 9, 30), 130_000, -20_000);

        var bill = BillCalculator.Bill(Liaocheng, [interval], new Dictionary<int, long> { [2026] = 150_000 });

        Assert.Equal(-7_198, bill.AmountFen);
        Assert.Equal(130_000, bill.BilledLitresAfter[2026]);
        Assert.Equal(Liaocheng.RoundedCharge(130_000) - Liaocheng.RoundedCharge(150_000), bill.AmountFen);
    }

    [Fact]
    public void An_interval_ending_before_it_starts_is_refused() =>
        Assert.Throws<ArgumentException>(() => BillCalculator.Bill(Liaocheng,
            [new ConsumptionInterval(new DateOnly(2026, 3, 1), 0, new DateOnly(2026, 2, 1), 1_000, 1_000)],
            new Dictionary<int, long>()));
}
