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
