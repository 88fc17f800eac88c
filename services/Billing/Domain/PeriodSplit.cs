namespace Metering.Billing.Domain;

/// <summary>A part of a consumption interval: the days [Start, End) and the litres that fall on them.</summary>
public readonly record struct PeriodPart(DateOnly Start, DateOnly End, long Litres);

/// <summary>
/// Splits an interval's consumption at given days (1 January, a tariff change, a household size change)
/// in proportion to days, with the rule of DESIGN.md §4.3: with d days in the interval and d₁ of them
/// before a split day, everything before it gets floor(q·d₁/d) litres. Taken cumulatively at every split
/// day, so the parts add up to q and the last part gets the remainder; with only 1 January as split day it
/// is exactly <see cref="YearSplit"/>.
/// </summary>
public static class PeriodSplit
{
    public static IReadOnlyList<PeriodPart> Split(DateOnly from, DateOnly to, long litres, IEnumerable<DateOnly> splitDays)
    {
        if (to < from)
            throw new ArgumentException($"an interval cannot end ({to}) before it starts ({from})", nameof(to));
        var days = splitDays.Where(d => d > from && d < to);
        for (var year = from.Year + 1; year <= to.Year; year++)
            days = days.Append(new DateOnly(year, 1, 1));
        var cuts = days.Where(d => d > from && d < to).Distinct().Order().ToList();
        if (cuts.Count == 0)
            return [new PeriodPart(from, to, litres)];

        long total = to.DayNumber - from.DayNumber;
        var parts = new List<PeriodPart>(cuts.Count + 1);
        var start = from;
        long assigned = 0;
        foreach (var cut in cuts)
        {
            var upToCut = (long)FloorDiv((Int128)litres * (cut.DayNumber - from.DayNumber), total);
            parts.Add(new PeriodPart(start, cut, upToCut - assigned));
            assigned = upToCut;
            start = cut;
        }
        parts.Add(new PeriodPart(start, to, litres - assigned));
        return parts;
    }

    private static Int128 FloorDiv(Int128 dividend, long divisor)
    {
        var (quotient, remainder) = Int128.DivRem(dividend, divisor);
        return remainder < 0 ? quotient - 1 : quotient;
    }
}
