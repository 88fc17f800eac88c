using Metering.Billing.Domain;

namespace Metering.Billing.Tests;

public class TariffTests
{
    private static readonly Tariff Liaocheng = Tariff.Liaocheng;

    [Theory]
    // DESIGN.md §4.3: C(144) = 478.08, C(240) = 886.08, C(300) = 1307.28 (CNY); here in fen.
    [InlineData(0, "0")]
    [InlineData(100_000, "33200")]
    [InlineData(144_000, "47808")]
    [InlineData(150_000, "50358")]
    [InlineData(240_000, "88608")]
    [InlineData(260_000, "102648")]
    [InlineData(300_000, "130728")]
    [InlineData(1, "0.332")]
    [InlineData(144_001, "47808.425")]
    [InlineData(240_001, "88608.702")]
    [InlineData(-1_000, "-332")]
    public void Annual_charge_is_exact_in_fen(long litres, string fen) =>
        Assert.Equal(decimal.Parse(fen, System.Globalization.CultureInfo.InvariantCulture), Liaocheng.Charge(litres));

    [Theory]
    [InlineData("0.5", 1)]
    [InlineData("1.5", 2)]
    [InlineData("2.5", 3)]
    [InlineData("2.4999", 2)]
    [InlineData("-0.5", -1)]
    [InlineData("-2.5", -3)]
    [InlineData("-2.4999", -2)]
    public void Rounding_is_half_away_from_zero(string fen, long expected) =>
        Assert.Equal(expected, Money.Round(decimal.Parse(fen, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Rounded_charge_rounds_the_exact_charge()
    {
        // 1 500 L at 3.32 CNY/m³ = 498 fen exactly; 1 L = 0.332 fen rounds to 0; 2 L = 0.664 rounds to 1.
        Assert.Equal(498, Liaocheng.RoundedCharge(1_500));
        Assert.Equal(0, Liaocheng.RoundedCharge(1));
        Assert.Equal(1, Liaocheng.RoundedCharge(2));
        // 144 001 L = 47 808.425 fen → 47 808; 144 002 L = 47 808.85 → 47 809.
        Assert.Equal(47_808, Liaocheng.RoundedCharge(144_001));
        Assert.Equal(47_809, Liaocheng.RoundedCharge(144_002));
    }

    [Fact]
    public void Liaocheng_has_the_published_thresholds_and_prices()
    {
        Assert.Equal(
            [new TariffTier(1, 144_000, 332), new TariffTier(2, 240_000, 425), new TariffTier(3, null, 702)],
            Liaocheng.Tiers);
    }

    public static TheoryData<TariffTier[]> MalformedTiers => new()
    {
        Array.Empty<TariffTier>(),
        new[] { new TariffTier(1, 100, 300) },
        new[] { new TariffTier(1, null, 300), new TariffTier(2, null, 400) },
        new[] { new TariffTier(1, 200, 300), new TariffTier(2, 100, 400), new TariffTier(3, null, 500) },
        new[] { new TariffTier(2, 100, 300), new TariffTier(1, null, 400) },
        new[] { new TariffTier(1, null, -1) },
    };

    [Theory]
    [MemberData(nameof(MalformedTiers))]
    public void A_malformed_tariff_is_refused(TariffTier[] tiers) =>
        Assert.Throws<ArgumentException>(() => new Tariff("bad", tiers));
}
