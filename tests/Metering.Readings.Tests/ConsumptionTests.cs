using FsCheck.Xunit;
using Metering.Domain;
using Metering.Readings.Domain;

namespace Metering.Readings.Tests;

public class ConsumptionTests
{
    private static DateOnly D(string text) => DateOnly.Parse(text);

    public static TheoryData<PreviousReading, string, long, long> Measured => new()
    {
        // DESIGN.md's thin flow: 0 → 100 → 150 → 260 m³.
        { new(D("2026-01-01"), 0, ReadingKind.Initial), "2026-03-31", 100_000, 100_000 },
        { new(D("2026-03-31"), 100_000, ReadingKind.Actual), "2026-06-30", 150_000, 50_000 },
        { new(D("2026-06-30"), 150_000, ReadingKind.Actual), "2026-09-30", 260_000, 110_000 },
        // A meter installed with a used register is measured from that value.
        { new(D("2026-01-01"), 12_345, ReadingKind.Initial), "2026-02-01", 112_345, 100_000 },
        // An empty flat uses nothing.
        { new(D("2026-03-31"), 100_000, ReadingKind.Actual), "2026-06-30", 100_000, 0 },
        // The day after installation, at the top of the register.
        { new(D("2026-01-01"), 0, ReadingKind.Initial), "2026-01-02", 99_999_999, 99_999_999 },
    };

    [Theory]
    [MemberData(nameof(Measured))]
    public void Consumption_is_this_reading_minus_the_previous(PreviousReading previous, string readOn, long register, long expected) =>
        Assert.Equal(expected, Consumption.Measure(previous, D(readOn), register));

    public static TheoryData<PreviousReading, string, long, string> Refused => new()
    {
        { new(D("2026-03-31"), 100_000, ReadingKind.Actual), "2026-06-30", 99_999, "lower than the previous reading of 100000 L on 2026-03-31" },
        { new(D("2026-01-01"), 5_000, ReadingKind.Initial), "2026-02-01", 4_999, "lower than the meter's installation on 2026-01-01 at 5000 L" },
        { new(D("2026-03-31"), 100_000, ReadingKind.Actual), "2026-03-30", 120_000, "before the previous reading" },
        { new(D("2026-01-01"), 0, ReadingKind.Initial), "2025-12-31", 10, "before the meter's installation" },
        { new(D("2026-03-31"), 100_000, ReadingKind.Actual), "2026-03-31", 100_000, "already a reading on 2026-03-31" },
        { new(D("2026-01-01"), 0, ReadingKind.Initial), "2026-01-01", 0, "already a reading on 2026-01-01" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_reading_that_goes_back_in_time_or_in_volume_is_refused(PreviousReading previous, string readOn, long register, string reason)
    {
        var error = Assert.Throws<FailedPreconditionException>(() => Consumption.Measure(previous, D(readOn), register));
        Assert.Contains(reason, error.Message);
    }

    [Property]
    public bool Consumption_added_to_the_previous_register_gives_this_one(uint previous, uint used, ushort days)
    {
        var before = new PreviousReading(D("2026-01-01"), previous, ReadingKind.Actual);
        var consumption = Consumption.Measure(before, before.ReadOn.AddDays(days + 1), (long)previous + used);
        return consumption == used && before.RegisterLitres + consumption == (long)previous + used;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(99_999_999)]
    public void A_five_digit_register_shows_up_to_99_999_999_litres(long register) =>
        Assert.Equal(register, MeterRegister.Default.Check(register));

    [Theory]
    [InlineData(-1)]
    [InlineData(100_000_000)]
    public void A_value_the_register_cannot_show_is_an_invalid_register_litres(long register) =>
        Assert.Equal("register_litres", Assert.Throws<InvalidArgumentException>(() => MeterRegister.Default.Check(register)).Field);

    private static readonly DateOnly Today = new(2026, 11, 28);

    [Fact]
    public void A_well_formed_reading_is_kept()
    {
        var reading = NewReading.Validate("2026-11-28", 260_000, Today);
        Assert.Equal(new NewReading(Today, 260_000), reading);
    }

    [Theory]
    [InlineData(null, 1, "read_on")]
    [InlineData("", 1, "read_on")]
    [InlineData("2026-02-30", 1, "read_on")]
    [InlineData("30.09.2026", 1, "read_on")]
    [InlineData("2026-11-29", 1, "read_on")]
    [InlineData("2026-09-30", -1, "register_litres")]
    public void A_malformed_reading_is_refused_naming_the_field(string? readOn, long register, string field) =>
        Assert.Equal(field, Assert.Throws<InvalidArgumentException>(() => NewReading.Validate(readOn, register, Today)).Field);

    [Theory]
    [InlineData("2026-11-28T15:59:59Z", "2026-11-28")]
    [InlineData("2026-11-28T16:00:00Z", "2026-11-29")]
    [InlineData("2026-11-28T23:30:00Z", "2026-11-29")]
    public void Today_is_the_date_in_the_utility_s_zone_not_in_UTC(string utc, string today) =>
        Assert.Equal(D(today), UtilityCalendar.For(null).Today(DateTimeOffset.Parse(utc)));
}

public class RolloverAndEstimateRuleTests
{
    private static DateOnly D(string text) => DateOnly.Parse(text);

    [Theory]
    // DESIGN.md §4.2: across a rollover, 100 000 m³ − previous + current.
    [InlineData(99_950_000, 50_000, 100_000)]
    [InlineData(99_999_999, 0, 1)]
    [InlineData(99_000_000, 0, 1_000_000)]
    public void A_lower_register_near_the_top_is_a_rollover(long previous, long current, long expected) =>
        Assert.Equal(expected, Consumption.Measure(new PreviousReading(D("2026-03-31"), previous, ReadingKind.Actual), D("2026-06-30"), current));

    [Theory]
    [InlineData(98_999_999, 0, "a register does not run backwards")]
    [InlineData(99_500_000, 600_000, "as a rollover it would mean 1100000 L")]
    public void A_lower_register_far_from_the_top_or_implying_too_much_is_refused(long previous, long current, string reason)
    {
        var error = Assert.Throws<FailedPreconditionException>(() =>
            Consumption.Measure(new PreviousReading(D("2026-03-31"), previous, ReadingKind.Actual), D("2026-06-30"), current));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void An_actual_reading_after_estimates_is_measured_from_the_last_real_register_minus_what_the_estimates_billed()
    {
        // Real 100 m³, then two estimates of 30 m³ each (register 160 m³), then the meter shows 140 m³.
        var previous = new PreviousReading(D("2026-06-30"), 160_000, ReadingKind.Estimated, ActualBaseLitres: 100_000, EstimatedSinceLitres: 60_000);
        Assert.Equal(-20_000, Consumption.Measure(previous, D("2026-09-30"), 140_000));
        Assert.Throws<FailedPreconditionException>(() => Consumption.Measure(previous, D("2026-09-30"), 99_000));
    }

    [Fact]
    public void A_reading_far_above_the_account_s_average_or_above_the_cap_is_an_anomaly()
    {
        var rules = ReadingRules.Default;
        Assert.Null(UsageHistory.AnomalyReason(120_000, 30, (1_000m, 100), rules));
        Assert.NotNull(UsageHistory.AnomalyReason(120_001, 30, (1_000m, 100), rules));
        // Too little history for the factor test; small volumes never by factor.
        Assert.Null(UsageHistory.AnomalyReason(400_000, 30, (1_000m, 29), rules));
        Assert.Null(UsageHistory.AnomalyReason(20_000, 1, (10m, 100), rules));
        Assert.Contains("above the cap", UsageHistory.AnomalyReason(500_001, 365, null, rules));
    }
}
