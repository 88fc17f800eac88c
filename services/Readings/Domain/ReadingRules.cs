namespace Metering.Readings.Domain;

/// <summary>
/// The configurable thresholds of DESIGN.md §4.2, bound from the <c>Readings</c> configuration section.
/// Volumes in litres.
/// </summary>
public sealed class ReadingRules
{
    /// <summary>A lower register is a rollover only when the previous value was at least capacity − this.</summary>
    public long RolloverMarginLitres { get; set; } = 1_000_000;

    /// <summary>...and the consumption it implies (capacity − previous + current) is at most this.</summary>
    public long RolloverMaxConsumptionLitres { get; set; } = 1_000_000;

    /// <summary>A reading is held when its daily use exceeds this many times the account's 12-month average…</summary>
    public decimal AnomalyFactor { get; set; } = 4m;

    /// <summary>…and its consumption is above this floor (small volumes are never anomalies by factor).</summary>
    public long AnomalyFloorLitres { get; set; } = 20_000;

    /// <summary>A reading whose consumption exceeds this is held whatever the history.</summary>
    public long AnomalyCapLitres { get; set; } = 500_000;

    /// <summary>The factor test needs at least this many days of history.</summary>
    public int AnomalyMinimumHistoryDays { get; set; } = 30;

    /// <summary>Daily use assumed for an estimate when an account has no history yet (300 L ≈ 110 m³ a year).</summary>
    public long DefaultDailyLitres { get; set; } = 300;

    public static ReadingRules Default { get; } = new();
}
