namespace Metering.Readings.Domain;

/// <summary>
/// An operator's correction of reading N's register (DESIGN.md §4.2): N is measured again from what came
/// before it, and N+1 from the corrected N, with the usual rules. A new meter's initial reading after N is
/// not measured from N, so it does not change.
/// </summary>
public static class Corrections
{
    /// <param name="before">The account's readings before N, oldest first (an estimate is measured through to the real reading behind it).</param>
    /// <param name="next">Reading N+1, if there is one.</param>
    /// <returns>N's new consumption, and N+1's when it is measured from N.</returns>
    public static (long Consumption, long? NextConsumption) Remeasure(IReadOnlyList<ChainReading> before, ChainReading reading,
        ChainReading? next, long registerLitres, MeterRegister register, ReadingRules rules)
    {
        var consumption = Consumption.Measure(PreviousReading.Of(before), reading.ReadOn, registerLitres, register, rules);
        if (next is null || next.Kind == ReadingKind.Initial)
            return (consumption, null);
        var through = new List<ChainReading>(before.Count + 1);
        through.AddRange(before);
        through.Add(reading with { RegisterLitres = registerLitres, ConsumptionLitres = consumption });
        return (consumption, Consumption.Measure(PreviousReading.Of(through), next.ReadOn, next.RegisterLitres, register, rules));
    }
}
