using Metering.Billing.Domain;

namespace Metering.Billing.Tests;

/// <summary>The charge rule of DESIGN.md §4.3 at every threshold edge, across a year end, a tariff change and a household change.</summary>
public class ChargeRuleTests
{
    private const string Residential = "liaocheng-residential";
    private static readonly Tariff Liaocheng = Tariff.Liaocheng;

    private static DateOnly D(int year, int month, int day) => new(year, month, day);

    private static ConsumptionInterval Interval(DateOnly from, DateOnly to, long litres) => new(from, 0, to, litres, litres);

    /// <summary>A second version from 2026-07-01 with dearer prices and a large-household rule (+30 m³ per person above 5).</summary>
    private static TariffSchedule WithSecondHalf2026(LargeHouseholdRule? rule = null) => new(
    [
        TariffVersion.LiaochengDefault,
        new TariffVersion("liaocheng-2026h2", D(2026, 7, 1),
            [new TariffTier(1, 144_000, 350), new TariffTier(2, 240_000, 450), new TariffTier(3, null, 750)], rule),
    ]);

    public static TheoryData<long, long> ThresholdEdges => new()
    {
        // annual litres, R(C(v)) in fen
        { 143_999, 47_808 },  // 332 × 143.999 = 47 807.668
        { 144_000, 47_808 },
        { 144_001, 47_808 },  // + 0.425 fen
        { 240_000, 88_608 },
        { 240_001, 88_609 },  // + 0.702 fen
    };

    [Theory]
    [MemberData(nameof(ThresholdEdges))]
    public void A_year_billed_in_one_bill_or_in_two_across_the_edge_charges_the_rounded_annual_charge(long annual, long expected)
    {
        var whole = BillCalculator.Bill(Liaocheng, [Interval(D(2026, 1, 1), D(2026, 12, 1), annual)], new Dictionary<int, long>());
        var first = BillCalculator.Bill(Liaocheng, [Interval(D(2026, 1, 1), D(2026, 6, 1), annual - 2)], new Dictionary<int, long>());
        var second = BillCalculator.Bill(Liaocheng, [Interval(D(2026, 6, 1), D(2026, 12, 1), 2)], first.BilledLitresAfter);

        Assert.Equal(expected, Liaocheng.RoundedCharge(annual));
        Assert.Equal(expected, whole.AmountFen);
        Assert.Equal(expected, first.AmountFen + second.AmountFen);
        Assert.All([whole, first, second], b => Assert.Equal(b.AmountFen, b.Lines.Sum(l => l.AmountFen)));
        Assert.Equal(annual, second.BilledLitresAfter[2026]);
    }

    [Fact]
    public void The_worked_example_of_the_design_gives_the_documented_bills()
    {
        var basis = new ChargeBasis(TariffSchedule.Single(TariffVersion.LiaochengDefault), [new HouseholdSize(D(2026, 1, 1), 3)]);
        IReadOnlyDictionary<int, long> position = new Dictionary<int, long>();
        var amounts = new List<long>();
        foreach (var (from, to, litres) in new[] { (D(2026, 1, 1), D(2026, 3, 31), 100_000L), (D(2026, 3, 31), D(2026, 6, 30), 50_000L), (D(2026, 6, 30), D(2026, 9, 30), 110_000L) })
        {
            var bill = BillCalculator.Bill(basis, [Interval(from, to, litres)], position);
            amounts.Add(bill.AmountFen);
            position = bill.BilledLitresAfter;
        }

        Assert.Equal([33_200L, 17_158, 52_290], amounts);
        Assert.Equal(102_648, amounts.Sum());
    }

    [Fact]
    public void An_interval_across_a_tariff_change_is_split_by_days_and_shows_a_line_per_version()
    {
        var basis = new ChargeBasis(WithSecondHalf2026(), []);

        // 60 days, 30 of them before 1 July: 30 000 L at the old prices, 30 000 L at the new, one annual position.
        var bill = BillCalculator.Bill(basis, [Interval(D(2026, 6, 1), D(2026, 7, 31), 60_000)], new Dictionary<int, long>());

        Assert.Equal(
            [new BillLineItem(2026, 1, 30_000, 332, 9_960, Residential), new BillLineItem(2026, 1, 30_000, 350, 10_500, "liaocheng-2026h2")],
            bill.Lines);
        Assert.Equal(20_460, bill.AmountFen);
        Assert.Equal(60_000, bill.BilledLitresAfter[2026]);
    }

    [Fact]
    public void A_tariff_change_keeps_the_annual_tier_position()
    {
        var basis = new ChargeBasis(WithSecondHalf2026(), []);

        // 140 m³ billed before July; 10 m³ in July: 4 m³ left in tier 1, 6 m³ in tier 2, both at the new prices.
        var bill = BillCalculator.Bill(basis, [Interval(D(2026, 7, 1), D(2026, 7, 31), 10_000)], new Dictionary<int, long> { [2026] = 140_000 });

        Assert.Equal([new BillLineItem(2026, 1, 4_000, 350, 1_400, "liaocheng-2026h2"), new BillLineItem(2026, 2, 6_000, 450, 2_700, "liaocheng-2026h2")],
            bill.Lines);
    }

    [Fact]
    public void A_large_household_has_its_thresholds_raised_per_person_above_the_base_size()
    {
        var rule = new LargeHouseholdRule(5, 30_000);
        var version = new TariffVersion("large", D(2020, 1, 1), Liaocheng.Tiers, rule);

        var seven = BillCalculator.Bill(new ChargeBasis(TariffSchedule.Single(version), [new HouseholdSize(D(2020, 1, 1), 7)]),
            [Interval(D(2026, 1, 1), D(2026, 12, 1), 250_000)], new Dictionary<int, long>());
        var five = BillCalculator.Bill(new ChargeBasis(TariffSchedule.Single(version), [new HouseholdSize(D(2020, 1, 1), 5)]),
            [Interval(D(2026, 1, 1), D(2026, 12, 1), 250_000)], new Dictionary<int, long>());

        // Seven persons: tiers end at 204 and 300 m³.
        Assert.Equal([new BillLineItem(2026, 1, 204_000, 332, 67_728, "large"), new BillLineItem(2026, 2, 46_000, 425, 19_550, "large")], seven.Lines);
        Assert.Equal(Liaocheng.RoundedCharge(250_000), five.AmountFen);
        Assert.Equal(0, rule.ExtraLitres(4));
    }

    [Fact]
    public void A_household_size_change_applies_from_its_effective_date()
    {
        var version = new TariffVersion("large", D(2020, 1, 1), Liaocheng.Tiers, new LargeHouseholdRule(5, 30_000));
        var basis = new ChargeBasis(TariffSchedule.Single(version),
            [new HouseholdSize(D(2020, 1, 1), 3), new HouseholdSize(D(2026, 7, 1), 7)]);

        // 364 days, 181 before 1 July: floor(250 000 × 181 / 364) = 124 313 L with 3 persons, the rest with 7.
        var bill = BillCalculator.Bill(basis, [Interval(D(2026, 1, 1), D(2026, 12, 31), 250_000)], new Dictionary<int, long>());

        Assert.Equal(41_272 + (67_728 - 41_272) + 19_550, bill.AmountFen);
        Assert.Equal([new BillLineItem(2026, 1, 204_000, 332, 67_728, "large"), new BillLineItem(2026, 2, 46_000, 425, 19_550, "large")], bill.Lines);
        Assert.Equal(3, basis.PersonsOn(D(2026, 6, 30)));
        Assert.Equal(7, basis.PersonsOn(D(2026, 7, 1)));
    }

    [Fact]
    public void A_credit_across_new_year_walks_each_year_back_down()
    {
        // −61 000 L read 2025-12-01 → 2026-01-31: −31 000 L to 2025, −30 000 L to 2026.
        var bill = BillCalculator.Bill(Liaocheng, [Interval(D(2025, 12, 1), D(2026, 1, 31), -61_000)],
            new Dictionary<int, long> { [2025] = 150_000, [2026] = 40_000 });

        Assert.Equal(
            [
                new BillLineItem(2025, 1, -25_000, 332, 39_508 - 47_808, Residential),
                new BillLineItem(2025, 2, -6_000, 425, 47_808 - 50_358, Residential),
                new BillLineItem(2026, 1, -30_000, 332, -9_960, Residential),
            ],
            bill.Lines);
        Assert.Equal(-20_810, bill.AmountFen);
        Assert.Equal((119_000L, 10_000L), (bill.BilledLitresAfter[2025], bill.BilledLitresAfter[2026]));
    }

    [Fact]
    public void A_rebill_keeps_the_cancelled_lines_and_charges_the_change_at_the_current_position()
    {
        // Bills of 100 and 50 m³; the first is corrected to 120 m³ after the second was issued.
        var first = BillCalculator.Bill(Liaocheng, [Interval(D(2026, 1, 1), D(2026, 3, 31), 100_000)], new Dictionary<int, long>());
        var second = BillCalculator.Bill(Liaocheng, [Interval(D(2026, 3, 31), D(2026, 6, 30), 50_000)], first.BilledLitresAfter);

        var rebill = BillCalculator.Rebill(ChargeBasis.Of(Liaocheng), first.Lines, first.VolumeLitres,
            Interval(D(2026, 1, 1), D(2026, 3, 31), 100_000), 120_000, second.BilledLitresAfter);

        Assert.Equal(120_000, rebill.VolumeLitres);
        Assert.Equal(170_000, rebill.BilledLitresAfter[2026]);
        Assert.Equal(Liaocheng.RoundedCharge(170_000), rebill.AmountFen + second.AmountFen);
        Assert.Equal(rebill.AmountFen, rebill.Lines.Sum(l => l.AmountFen));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_tariff_version_needs_positive_prices(long price)
    {
        Assert.Throws<ArgumentException>(() => new TariffVersion("bad", D(2027, 1, 1), [new TariffTier(1, null, price)], null));
    }

    [Fact]
    public void The_version_in_force_is_the_latest_started()
    {
        var schedule = WithSecondHalf2026();

        Assert.Equal(Residential, schedule.InForceOn(D(2026, 6, 30)).Name);
        Assert.Equal("liaocheng-2026h2", schedule.InForceOn(D(2026, 7, 1)).Name);
        Assert.Equal(Residential, schedule.InForceOn(D(1990, 1, 1)).Name);
        Assert.NotNull(schedule.RefusalOfNewVersion(D(2026, 7, 1), D(2026, 1, 1)));
        Assert.NotNull(schedule.RefusalOfNewVersion(D(2026, 1, 1), D(2026, 1, 1)));
        Assert.Null(schedule.RefusalOfNewVersion(D(2027, 1, 1), D(2026, 1, 1)));
    }
}
