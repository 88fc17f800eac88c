using Metering.Domain;

namespace Metering.Readings.Domain;

/// <summary>The reading a new one is measured from: the last one in the account's chain.</summary>
public sealed record PreviousReading(DateOnly ReadOn, long RegisterLitres, ReadingKind Kind);

/// <summary>
/// Consumption = this reading − the previous one. A reading must come after the previous one and
/// may not show less: a lower register is refused until rollover and meter replacement are
/// recognised (both extend <see cref="Measure"/>; DESIGN.md §4.2).
/// </summary>
public static class Consumption
{
    public static long Measure(PreviousReading previous, DateOnly readOn, long registerLitres)
    {
        var previousText = Describe(previous);
        if (readOn < previous.ReadOn)
            throw new FailedPreconditionException(
                $"a reading on {DateText.Format(readOn)} is before the {previousText}; readings go forward in time");
        if (readOn == previous.ReadOn)
            throw new FailedPreconditionException(
                $"there is already a reading on {DateText.Format(readOn)}: the {previousText}");
        if (registerLitres < previous.RegisterLitres)
            throw new FailedPreconditionException(
                $"register {registerLitres} L is lower than the {previousText}; a register does not run backwards");
        return registerLitres - previous.RegisterLitres;
    }

    private static string Describe(PreviousReading previous) => previous.Kind switch
    {
        ReadingKind.Initial => $"meter's installation on {DateText.Format(previous.ReadOn)} at {previous.RegisterLitres} L",
        _ => $"previous reading of {previous.RegisterLitres} L on {DateText.Format(previous.ReadOn)}",
    };
}
