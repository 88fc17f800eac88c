namespace Metering.Billing.Domain;

/// <summary>The litres of an interval that count against one calendar year's tier position.</summary>
public readonly record struct YearShare(int Year, long Litres);

/// <summary>
/// Splits an interval's consumption between calendar years in proportion to days. With d days from
/// the previous reading to this one and d₁ of them before 1 January, the earlier year gets
/// floor(q·d₁/d) litres and the later year the rest. Longer intervals apply the same rule at every
/// 1 January (cumulative floors), so the shares always add up to q.
/// </summary>
public static class YearSplit
{
    public static IReadOnlyList<YearShare> Split(DateOnly previousReadOn, DateOnly readOn, long litres)
    {
        if (readOn < previousReadOn)
            throw new ArgumentException($"an interval cannot end ({readOn}) before it starts ({previousReadOn})", nameof(readOn));
        if (litres == 0)
            return [];
        if (previousReadOn.Year == readOn.Year)
            return [new YearShare(readOn.Year, litres)];

        long days = readOn.DayNumber - previousReadOn.DayNumber;
        var shares = new List<YearShare>(readOn.Year - previousReadOn.Year + 1);
        long assigned = 0;
        for (var year = previousReadOn.Year; year < readOn.Year; year++)
        {
            long daysBefore = new DateOnly(year + 1, 1, 1).DayNumber - previousReadOn.DayNumber;
            var upToYearEnd = FloorDiv(checked((Int128)litres * daysBefore), days);
            Add(shares, year, (long)upToYearEnd - assigned);
            assigned = (long)upToYearEnd;
        }
        Add(shares, readOn.Year, litres - assigned);
        return shares;
    }

    private static void Add(List<YearShare> shares, int year, long litres)
    {
        if (litres != 0)
            shares.Add(new YearShare(year, litres));
    }

    /// <summary>Floor, not truncation: a negative correction splits the same way as a positive one, mirrored.</summary>
    private static Int128 FloorDiv(Int128 dividend, long divisor)
    {
        var quotient = Int128.DivRem(dividend, divisor);
        return quotient.Remainder != 0 && (quotient.Remainder < 0) != (divisor < 0) ? quotient.Quotient - 1 : quotient.Quotient;
    }
}
