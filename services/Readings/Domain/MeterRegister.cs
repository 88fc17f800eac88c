using Metering.Domain;

namespace Metering.Readings.Domain;

/// <summary>The register of a meter: it shows 0 up to <see cref="CapacityLitres"/> − 1 litres, then wraps to zero.</summary>
public sealed record MeterRegister(long CapacityLitres)
{
    /// <summary>A five-digit m³ register shows 00000–99999 m³, i.e. at most 99 999 999 L.</summary>
    public const long DefaultCapacityLitres = 100_000_000;

    public static MeterRegister Default { get; } = new(DefaultCapacityLitres);

    /// <summary>Refuses a value the register cannot show, naming <paramref name="field"/>.</summary>
    public long Check(long registerLitres, string field = "register_litres")
    {
        if (registerLitres < 0)
            throw new InvalidArgumentException(field, $"must not be negative, got {registerLitres}");
        if (registerLitres >= CapacityLitres)
            throw new InvalidArgumentException(field,
                $"must be below the register's capacity of {CapacityLitres} L, got {registerLitres}");
        return registerLitres;
    }
}
