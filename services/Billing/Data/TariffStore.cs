using Metering.Billing.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Billing.Data;

/// <summary>Reads the stored tariff versions as the domain's <see cref="TariffSchedule"/>.</summary>
public static class TariffStore
{
    public static async Task<TariffSchedule> LoadScheduleAsync(this BillingDbContext db, CancellationToken cancellationToken)
    {
        var rows = await db.TariffVersions.AsNoTracking().Include(v => v.Tiers).ToListAsync(cancellationToken);
        return new TariffSchedule(rows.Select(ToDomain));
    }

    public static TariffVersion ToDomain(TariffVersionRow row) => new(
        row.Name,
        row.EffectiveFrom,
        row.Tiers.OrderBy(t => t.Tier).Select(t => new TariffTier(t.Tier, t.UpToLitres, t.PriceFenPerM3)).ToList(),
        row is { BaseHouseholdSize: { } size, ExtraLitresPerPerson: { } extra } ? new LargeHouseholdRule(size, extra) : null);

    /// <summary>Household sizes of the given accounts, from the stored history or, failing that, the account's persons.</summary>
    public static async Task<Dictionary<string, List<HouseholdSize>>> LoadHouseholdSizesAsync(
        this BillingDbContext db, IReadOnlyCollection<string> accounts, CancellationToken cancellationToken)
    {
        var rows = await db.HouseholdSizes.AsNoTracking()
            .Where(h => accounts.Contains(h.UserNumber))
            .Select(h => new { h.UserNumber, h.EffectiveOn, h.Persons })
            .ToListAsync(cancellationToken);
        return rows.GroupBy(r => r.UserNumber)
            .ToDictionary(g => g.Key, g => g.Select(r => new HouseholdSize(r.EffectiveOn, r.Persons)).ToList());
    }
}
