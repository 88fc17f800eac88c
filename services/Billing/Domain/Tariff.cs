namespace Metering.Billing.Domain;

/// <summary>
/// One tier of a tariff: the annual volume up to which it applies (inclusive, null for the top tier)
/// and its price. Prices are whole fen per m³ so that charges stay exact in decimal fen.
/// </summary>
public sealed record TariffTier(int Tier, long? UpToLitres, long PriceFenPerM3);

/// <summary>
/// An annual tiered tariff: the tier position counts the household's volume in a calendar year.
/// Pure arithmetic; effective-dated versions and the large-household rule will pick or derive
/// a <see cref="Tariff"/> per part of an interval, and the calculator stays the same.
/// </summary>
public sealed class Tariff
{
    public Tariff(string code, IReadOnlyList<TariffTier> tiers)
    {
        if (string.IsNullOrWhiteSpace(code))
            throw new ArgumentException("a tariff needs a code", nameof(code));
        if (tiers.Count == 0)
            throw new ArgumentException("a tariff needs at least one tier", nameof(tiers));
        long previous = 0;
        for (var i = 0; i < tiers.Count; i++)
        {
            var tier = tiers[i];
            if (tier.Tier != i + 1)
                throw new ArgumentException($"tiers must be numbered 1, 2, …; found {tier.Tier} at position {i + 1}", nameof(tiers));
            if (tier.PriceFenPerM3 < 0)
                throw new ArgumentException($"tier {tier.Tier} has a negative price", nameof(tiers));
            var last = i == tiers.Count - 1;
            if (last != (tier.UpToLitres is null))
                throw new ArgumentException("every tier but the last has an upper bound; the last has none", nameof(tiers));
            if (tier.UpToLitres is { } upTo)
            {
                if (upTo <= previous)
                    throw new ArgumentException($"tier {tier.Tier} must end above {previous} litres", nameof(tiers));
                previous = upTo;
            }
        }
        Code = code;
        Tiers = tiers;
    }

    /// <summary>Liaocheng residential (composite price incl. sewage): 0–144 m³ at 3.32, to 240 m³ at 4.25, above at 7.02 CNY/m³.</summary>
    public static Tariff Liaocheng { get; } = new("liaocheng-residential",
    [
        new TariffTier(1, 144_000, 332),
        new TariffTier(2, 240_000, 425),
        new TariffTier(3, null, 702),
    ]);

    public string Code { get; }

    public IReadOnlyList<TariffTier> Tiers { get; }

    /// <summary>
    /// C(v): the exact charge in fen of an annual volume in litres. Below zero (a credit that runs past
    /// everything billed) the first tier's price continues, as in DESIGN.md's formula.
    /// </summary>
    public decimal Charge(long annualLitres)
    {
        decimal fenTimesLitresPerM3 = 0;
        long lower = 0;
        foreach (var tier in Tiers)
        {
            var isFirst = tier.Tier == 1;
            var upper = tier.UpToLitres ?? long.MaxValue;
            // Litres of this tier in [lower, upper]; the first tier also takes everything below zero.
            var inTier = isFirst ? Math.Min(annualLitres, upper) : Math.Clamp(annualLitres, lower, upper) - lower;
            fenTimesLitresPerM3 += (decimal)tier.PriceFenPerM3 * inTier;
            if (annualLitres <= upper)
                break;
            lower = upper;
        }
        return fenTimesLitresPerM3 / 1000m;
    }

    /// <summary>R(C(v)): the annual charge rounded to the fen.</summary>
    public long RoundedCharge(long annualLitres) => Money.Round(Charge(annualLitres));

    /// <summary>The tier's volume range as (lower, upper]; the first tier is unbounded below, the last above.</summary>
    public (long Lower, long Upper) Range(TariffTier tier)
    {
        var index = tier.Tier - 1;
        var lower = index == 0 ? long.MinValue : Tiers[index - 1].UpToLitres!.Value;
        return (lower, tier.UpToLitres ?? long.MaxValue);
    }
}

public static class Money
{
    /// <summary>R: round half away from zero to the fen.</summary>
    public static long Round(decimal fen) => (long)decimal.Round(fen, 0, MidpointRounding.AwayFromZero);
}
