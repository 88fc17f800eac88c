using Metering.Domain;

namespace Metering.Accounts.Domain;

public enum LandTenure { StateOwned, Collective }

public enum Settlement { City, CountyTown, Township, Village }

/// <summary>What the survey says about a community, as far as the programme's eligibility rule needs it (DESIGN.md §4.1).</summary>
public sealed record CommunityFacts(
    DateOnly CompletedOn, LandTenure Land, Settlement Settlement, bool SlatedForDemolition, bool ShantyTownRedevelopment);

/// <summary>The programme's eligibility rule; every failing condition is named, so an operator sees all of them at once.</summary>
public static class CommunityEligibility
{
    public static readonly DateOnly LatestCompletion = new(2005, 12, 31);

    public static IReadOnlyList<string> Reasons(CommunityFacts facts)
    {
        var reasons = new List<string>();
        if (facts.CompletedOn > LatestCompletion)
            reasons.Add($"completed on {DateText.Format(facts.CompletedOn)}, after {DateText.Format(LatestCompletion)}");
        if (facts.Land != LandTenure.StateOwned)
            reasons.Add("not on state-owned land");
        if (facts.Settlement is not (Settlement.City or Settlement.CountyTown))
            reasons.Add("not in the city or a county town");
        if (facts.SlatedForDemolition)
            reasons.Add("slated for demolition");
        if (facts.ShantyTownRedevelopment)
            reasons.Add("slated for shanty-town redevelopment");
        return reasons;
    }

    /// <summary>Refuses an ineligible community with FAILED_PRECONDITION listing every reason.</summary>
    public static void Require(string communityName, CommunityFacts facts)
    {
        var reasons = Reasons(facts);
        if (reasons.Count > 0)
            throw new FailedPreconditionException(
                $"community '{communityName}' is not eligible for the conversion programme: {string.Join("; ", reasons)}");
    }
}
