using Metering.Billing.Domain;

namespace Metering.Billing.Tests;

public class YearSplitTests
{
    private static DateOnly D(string text) => DateOnly.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    public static TheoryData<string, string, long, YearShare[]> Splits => new()
    {
        // DESIGN.md §4.3: 61 days, 31 of them before 1 January.
        { "2025-12-01", "2026-01-31", 61_000, [new(2025, 31_000), new(2026, 30_000)] },
        // Within one year: no split.
        { "2026-01-01", "2026-03-31", 100_000, [new(2026, 100_000)] },
        // Read on 1 January: every day of the interval was in the old year.
        { "2025-12-01", "2026-01-01", 31_000, [new(2025, 31_000)] },
        // Read on 31 December then on 1 January: one day, in the old year.
        { "2025-12-31", "2026-01-01", 5_000, [new(2025, 5_000)] },
        // The earlier year gets the floor: 10 L over 3 days, 1 before 1 January → floor(10/3) = 3.
        { "2025-12-31", "2026-01-03", 10, [new(2025, 3), new(2026, 7)] },
        // A negative correction is floored too (towards minus infinity) and still adds up.
        { "2025-12-31", "2026-01-03", -10, [new(2025, -4), new(2026, -6)] },
        // An interval over two new years: the same rule at each 1 January (1 + 365 + 365 + 30 days).
        { "2024-12-31", "2027-01-31", 761_000, [new(2024, 1_000), new(2025, 365_000), new(2026, 365_000), new(2027, 30_000)] },
        // Nothing consumed: no shares.
        { "2025-12-01", "2026-01-31", 0, [] },
        // Same day twice (a correction on the reading day).
        { "2026-05-01", "2026-05-01", 1_234, [new(2026, 1_234)] },
    };

    [Theory]
    [MemberData(nameof(Splits))]
    public void An_interval_is_split_between_years_by_days(string from, string to, long litres, YearShare[] expected) =>
        Assert.Equal(expected, YearSplit.Split(D(from), D(to), litres));

    [Fact]
    public void An_interval_ending_before_it_starts_is_refused() =>
        Assert.Throws<ArgumentException>(() => YearSplit.Split(D("2026-02-01"), D("2026-01-01"), 10));
}
