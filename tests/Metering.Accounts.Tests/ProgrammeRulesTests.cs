using Metering.Accounts.Domain;
using Metering.Domain;

namespace Metering.Accounts.Tests;

public class ProgrammeRulesTests
{
    private static CommunityFacts Facts(
        string completedOn = "2005-12-31", LandTenure land = LandTenure.StateOwned, Settlement settlement = Settlement.City,
        bool demolition = false, bool shantyTown = false) =>
        new(DateOnly.ParseExact(completedOn, "yyyy-MM-dd"), land, settlement, demolition, shantyTown);

    public static TheoryData<CommunityFacts, string?> Eligibility => new()
    {
        { Facts(), null },
        { Facts(settlement: Settlement.CountyTown, completedOn: "1988-06-01"), null },
        { Facts(completedOn: "2006-01-01"), "after 2005-12-31" },
        { Facts(land: LandTenure.Collective), "state-owned land" },
        { Facts(settlement: Settlement.Township), "city or a county town" },
        { Facts(settlement: Settlement.Village), "city or a county town" },
        { Facts(demolition: true), "demolition" },
        { Facts(shantyTown: true), "shanty-town" },
    };

    [Theory, MemberData(nameof(Eligibility))]
    public void Community_eligibility_follows_the_programme_rule(CommunityFacts facts, string? reason)
    {
        if (reason is null)
        {
            CommunityEligibility.Require("幸福小区", facts);
            Assert.Empty(CommunityEligibility.Reasons(facts));
        }
        else
        {
            var error = Assert.Throws<FailedPreconditionException>(() => CommunityEligibility.Require("幸福小区", facts));
            Assert.Contains(reason, error.Message);
        }
    }

    [Fact]
    public void An_ineligible_community_is_told_every_reason_at_once()
    {
        var reasons = CommunityEligibility.Reasons(Facts(completedOn: "2010-01-01", land: LandTenure.Collective, demolition: true));
        Assert.Equal(3, reasons.Count);
    }

    [Theory]
    [InlineData(SupplyPointKind.Fire, "fire")]
    [InlineData(SupplyPointKind.Gatehouse, "gatehouse")]
    [InlineData(SupplyPointKind.Greening, "greening")]
    [InlineData(SupplyPointKind.Shop, "shop")]
    [InlineData(SupplyPointKind.SingleStoreyHouse, "single-storey")]
    public void Public_supply_points_never_become_household_accounts(SupplyPointKind kind, string named)
    {
        var error = Assert.Throws<FailedPreconditionException>(() => SupplyPoints.RequireResidential(kind));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void A_residential_household_is_accepted() => SupplyPoints.RequireResidential(SupplyPointKind.Residential);

    [Fact]
    public void One_refusal_or_missing_signature_blocks_the_riser_and_is_listed()
    {
        HouseholdConsent[] households =
        [
            new("101", ConsentState.Consented), new("102", ConsentState.Refused),
            new("201", ConsentState.Missing), new("202", ConsentState.Consented),
        ];
        var error = Assert.Throws<FailedPreconditionException>(() => RiserConsent.RequireAllConsented("3-2", households));
        Assert.Contains("102 (refused)", error.Message);
        Assert.Contains("201 (no signature)", error.Message);
        Assert.DoesNotContain("101", error.Message);
    }

    [Fact]
    public void A_riser_where_everyone_consented_may_be_converted() =>
        RiserConsent.RequireAllConsented("3-2", [new("101", ConsentState.Consented), new("102", ConsentState.Consented)]);

    [Fact]
    public void A_riser_without_households_cannot_be_converted() =>
        Assert.Throws<FailedPreconditionException>(() => RiserConsent.RequireAllConsented("3-2", []));

    [Theory]
    [InlineData(3000_00, 350_00, 1800_00, 850_00)]
    [InlineData(2150_00, 350_00, 1800_00, 0)]
    [InlineData(2150_01, 350_00, 1800_00, 1)]
    [InlineData(1000_00, 350_00, 650_00, 0)]
    [InlineData(200_00, 200_00, 0, 0)]
    [InlineData(0, 0, 0, 0)]
    public void Cost_is_shared_resident_then_finance_then_utility(long cost, long resident, long finance, long utility)
    {
        var share = CostShare.For(cost);
        Assert.Equal(new CostShare(resident, finance, utility), share);
        Assert.Equal(cost, share.TotalFen);
    }

    [Fact]
    public void Shares_add_up_over_a_riser()
    {
        var total = new[] { 3000_00L, 2500_00L }.Select(c => CostShare.For(c)).Aggregate(CostShare.Zero, (a, b) => a + b);
        Assert.Equal(new CostShare(700_00, 3600_00, 1200_00), total);
    }

    [Fact]
    public void A_negative_cost_is_refused_naming_the_field()
    {
        var error = Assert.Throws<InvalidArgumentException>(() => CostShare.For(-1));
        Assert.Equal("actual_cost_fen", error.Field);
    }
}
