using Metering.Domain;

namespace Metering.Billing.Domain;

/// <summary>
/// An operator's proposed tariff version, checked field by field before it joins the schedule: a name,
/// a start day in the future no other version starts on, strictly increasing thresholds, positive prices
/// and, when given, a sensible large-household rule.
/// </summary>
public static class TariffVersionDraft
{
    public static TariffVersion Validate(string name, DateOnly effectiveFrom, IReadOnlyList<TariffTier> tiers,
        int baseHouseholdSize, long extraLitresPerPerson, TariffSchedule schedule, DateOnly today)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64)
            throw new InvalidArgumentException("version.name", "is required (at most 64 characters)");
        if (schedule.Versions.Any(v => v.Name == name.Trim()))
            throw new AlreadyExistsException($"a tariff version named {name.Trim()} already exists");
        if (schedule.RefusalOfNewVersion(effectiveFrom, today) is { } refusal)
            throw new InvalidArgumentException("version.effective_from", refusal);
        if (tiers.Count == 0)
            throw new InvalidArgumentException("version.tiers", "at least one tier is required");
        long previous = 0;
        for (var i = 0; i < tiers.Count; i++)
        {
            var tier = tiers[i];
            var field = $"version.tiers[{i}]";
            if (tier.Tier != i + 1)
                throw new InvalidArgumentException($"{field}.tier", $"tiers are numbered 1, 2, … in order; found {tier.Tier} at position {i + 1}");
            if (tier.PriceFenPerM3 <= 0)
                throw new InvalidArgumentException($"{field}.price_fen_per_m3", $"must be positive, was {tier.PriceFenPerM3}");
            var last = i == tiers.Count - 1;
            if (last && tier.UpToLitres is not null)
                throw new InvalidArgumentException($"{field}.up_to_litres", "the top tier has no upper threshold (0)");
            if (!last && (tier.UpToLitres is not { } upTo || upTo <= previous))
                throw new InvalidArgumentException($"{field}.up_to_litres",
                    $"thresholds must increase: {tier.UpToLitres ?? 0} is not above {previous}");
            previous = tier.UpToLitres ?? previous;
        }
        LargeHouseholdRule? rule = null;
        if (baseHouseholdSize != 0 || extraLitresPerPerson != 0)
        {
            if (baseHouseholdSize < 1)
                throw new InvalidArgumentException("version.base_household_size", "must be at least 1 when the large-household rule is on");
            if (extraLitresPerPerson <= 0)
                throw new InvalidArgumentException("version.extra_litres_per_person", "must be positive when the large-household rule is on");
            rule = new LargeHouseholdRule(baseHouseholdSize, extraLitresPerPerson);
        }
        return new TariffVersion(name.Trim(), effectiveFrom, tiers, rule);
    }
}
