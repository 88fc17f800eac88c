using Metering.Domain;

namespace Metering.Accounts.Domain;

/// <summary>Who pays what of one household's conversion, in fen (DESIGN.md §4.1).</summary>
public sealed record CostShare(long ResidentFen, long FinanceFen, long UtilityFen)
{
    public const long ResidentCapFen = 350_00;
    public const long FinanceCapFen = 1800_00;

    public long TotalFen => ResidentFen + FinanceFen + UtilityFen;

    /// <summary>
    /// Resident first up to 350 CNY, then finance up to 1 800 CNY, the utility the rest (everything above 2 150 CNY).
    /// A cost below a cap is not inflated: nobody pays more than the household actually cost.
    /// </summary>
    public static CostShare For(long actualCostFen, string field = "actual_cost_fen")
    {
        if (actualCostFen < 0)
            throw new InvalidArgumentException(field, $"must not be negative, got {actualCostFen}");
        var resident = Math.Min(actualCostFen, ResidentCapFen);
        var finance = Math.Min(actualCostFen - resident, FinanceCapFen);
        return new CostShare(resident, finance, actualCostFen - resident - finance);
    }

    public static CostShare operator +(CostShare a, CostShare b) =>
        new(a.ResidentFen + b.ResidentFen, a.FinanceFen + b.FinanceFen, a.UtilityFen + b.UtilityFen);

    public static readonly CostShare Zero = new(0, 0, 0);
}
