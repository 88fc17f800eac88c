using Metering.Domain;

namespace Metering.Readings.Domain;

/// <summary>
/// The reading a new one is measured from: the last one in the account's chain. When it is an estimate,
/// <paramref name="ActualBaseLitres"/> is the register of the last real reading before the estimates and
/// <paramref name="EstimatedSinceLitres"/> what those estimates billed: an actual reading is measured from
/// the real register and pays back the estimates (DESIGN.md §4.2: actual − last estimate, possibly negative).
/// </summary>
public sealed record PreviousReading(DateOnly ReadOn, long RegisterLitres, ReadingKind Kind, long? ActualBaseLitres = null,
    long EstimatedSinceLitres = 0)
{
    /// <summary>The previous reading of the last element of <paramref name="chain"/> (oldest first, one meter's stretch or more).</summary>
    public static PreviousReading Of(IReadOnlyList<ChainReading> chain)
    {
        var head = chain[^1];
        if (head.Kind != ReadingKind.Estimated)
            return new PreviousReading(head.ReadOn, head.RegisterLitres, head.Kind);
        long estimated = 0;
        for (var i = chain.Count - 1; i >= 0; i--)
        {
            if (chain[i].Kind != ReadingKind.Estimated)
                return new PreviousReading(head.ReadOn, head.RegisterLitres, head.Kind, chain[i].RegisterLitres, estimated);
            estimated += chain[i].ConsumptionLitres;
        }
        // The real reading is older than what was loaded: measure from the estimate itself.
        return new PreviousReading(head.ReadOn, head.RegisterLitres, head.Kind);
    }
}

/// <summary>
/// Consumption = this reading − the previous one (DESIGN.md §4.2). A reading must come after the
/// previous one and may not show less, except across a register rollover (the previous value was
/// within <see cref="ReadingRules.RolloverMarginLitres"/> of the capacity and the implied consumption
/// is plausible) or after an estimate (the actual reading corrects it). A meter replacement starts a
/// new chain at the new meter's initial reading, so it needs no exception here.
/// </summary>
public static class Consumption
{
    public static long Measure(PreviousReading previous, DateOnly readOn, long registerLitres) =>
        Measure(previous, readOn, registerLitres, MeterRegister.Default, ReadingRules.Default);

    public static long Measure(PreviousReading previous, DateOnly readOn, long registerLitres, MeterRegister register, ReadingRules rules)
    {
        if (readOn < previous.ReadOn)
            throw new FailedPreconditionException(
                $"a reading on {DateText.Format(readOn)} is before the {Describe(previous)}; readings go forward in time");
        if (readOn == previous.ReadOn)
            throw new FailedPreconditionException(
                $"there is already a reading on {DateText.Format(readOn)}: the {Describe(previous)}");
        if (previous.Kind == ReadingKind.Estimated && previous.ActualBaseLitres is { } actualBase)
            return Advance(actualBase, registerLitres, register, rules, () => $"last actual reading of {actualBase} L before the estimates")
                   - previous.EstimatedSinceLitres;
        return Advance(previous.RegisterLitres, registerLitres, register, rules, () => Describe(previous));
    }

    /// <summary>How far the register moved from <paramref name="from"/> to <paramref name="to"/>, across a rollover if it wrapped.</summary>
    private static long Advance(long from, long to, MeterRegister register, ReadingRules rules, Func<string> fromText)
    {
        if (to >= from)
            return to - from;
        var nearCapacity = from >= register.CapacityLitres - rules.RolloverMarginLitres;
        var implied = register.CapacityLitres - from + to;
        if (nearCapacity && implied <= rules.RolloverMaxConsumptionLitres)
            return implied;
        var why = nearCapacity
            ? $"; as a rollover it would mean {implied} L, more than the {rules.RolloverMaxConsumptionLitres} L a rollover may imply"
            : "; a register does not run backwards (a new meter needs a meter replacement first)";
        throw new FailedPreconditionException($"register {to} L is lower than the {fromText()}{why}");
    }

    private static string Describe(PreviousReading previous) => previous.Kind switch
    {
        ReadingKind.Initial => $"meter's installation on {DateText.Format(previous.ReadOn)} at {previous.RegisterLitres} L",
        ReadingKind.Estimated => $"estimated reading of {previous.RegisterLitres} L on {DateText.Format(previous.ReadOn)}",
        _ => $"previous reading of {previous.RegisterLitres} L on {DateText.Format(previous.ReadOn)}",
    };
}

/// <summary>
/// The billable usage (litres, days) of an account's readings dated strictly between <paramref name="After"/> and
/// <paramref name="Before"/> that a loader summed up instead of loading them one by one: the readings a 12-month
/// average counts (not initial, not held), none of them among the readings the chain holds. It may only be used
/// for dates whose 12-month window contains that whole span.
/// </summary>
public sealed record UsageTotal(DateOnly After, DateOnly Before, long Litres, int Days)
{
    public bool IsInsideWindowOf(DateOnly asOf) =>
        After >= asOf.AddDays(-UsageHistory.WindowDays) && Before <= asOf.AddDays(1);
}

/// <summary>An account's usage over the last 12 months, for estimates and the anomaly test.</summary>
public static class UsageHistory
{
    public const int WindowDays = 365;

    /// <summary>
    /// Average litres a day over the intervals that end within 12 months before <paramref name="asOf"/>; null without
    /// history. <paramref name="summed"/> adds readings a loader summed instead of loading (see <see cref="UsageTotal"/>).
    /// </summary>
    public static (decimal LitresPerDay, int Days)? Average(IReadOnlyList<ChainReading> readings, DateOnly asOf, UsageTotal? summed = null)
    {
        var from = asOf.AddDays(-WindowDays);
        long litres = 0;
        var days = 0;
        if (summed is not null)
        {
            if (!summed.IsInsideWindowOf(asOf))
                throw new InvalidOperationException(
                    $"usage summed from {DateText.Format(summed.After)} to {DateText.Format(summed.Before)} does not lie within the 12 months before {DateText.Format(asOf)}");
            litres = summed.Litres;
            days = summed.Days;
        }
        // Indexed loop, not foreach over an interface: this runs for every bulk row.
        for (var i = 0; i < readings.Count; i++)
        {
            var r = readings[i];
            if (r.PreviousReadOn is not { } previousOn || r.Kind == ReadingKind.Initial || r.Status == ReadingStatus.Held)
                continue;
            if (r.ReadOn <= from || r.ReadOn > asOf)
                continue;
            litres += r.ConsumptionLitres;
            days += r.ReadOn.DayNumber - previousOn.DayNumber;
        }
        return days > 0 ? (Math.Max(0, (decimal)litres / days), days) : null;
    }

    /// <summary>Why a consumption of <paramref name="litres"/> over <paramref name="days"/> days is held, or null when it is not.</summary>
    public static string? AnomalyReason(long litres, int days, (decimal LitresPerDay, int Days)? history, ReadingRules rules)
    {
        if (litres > rules.AnomalyCapLitres)
            return $"consumption {litres} L is above the cap of {rules.AnomalyCapLitres} L";
        if (history is { } h && h.Days >= rules.AnomalyMinimumHistoryDays && litres > rules.AnomalyFloorLitres && days > 0)
        {
            var expected = h.LitresPerDay * days;
            if (litres > expected * rules.AnomalyFactor)
                return $"consumption {litres} L over {days} days is more than {rules.AnomalyFactor} times " +
                       $"the account's average of {decimal.Round(h.LitresPerDay, 1)} L a day";
        }
        return null;
    }
}
