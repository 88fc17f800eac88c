using Metering.Domain;

namespace Metering.Readings.Domain;

/// <summary>What a caller sends as a reading, checked before any look-up. The register's capacity is checked once the meter is known.</summary>
public sealed record NewReading(DateOnly ReadOn, long RegisterLitres)
{
    public static NewReading Validate(string? readOn, long registerLitres, DateOnly today)
    {
        var date = DateText.Parse(readOn, "read_on");
        if (date > today)
            throw new InvalidArgumentException("read_on", $"{DateText.Format(date)} is in the future (today is {DateText.Format(today)})");
        if (registerLitres < 0)
            throw new InvalidArgumentException("register_litres", $"must not be negative, got {registerLitres}");
        return new NewReading(date, registerLitres);
    }
}
