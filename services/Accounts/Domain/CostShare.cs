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

/// <summary>What the programme's report shows for a set of converted households.</summary>
public sealed record ProgrammeCosts(
    int HouseholdsConverted, int HouseholdsCostPending, long ActualCostFen, CostShare Shares,
    long ResidentCollectedFen, long ResidentOutstandingFen)
{
    public static readonly ProgrammeCosts Zero = new(0, 0, 0, CostShare.Zero, 0, 0);

    /// <summary>
    /// A converted riser: its cost split over its households (ordered as <see cref="CostSplit"/> does), each
    /// household's share, and what each resident has paid of theirs. Without an actual cost the households
    /// are counted as pending and only the fees already collected show.
    /// </summary>
    public static ProgrammeCosts ForRiser(long? actualCostFen, IReadOnlyList<long> residentPaidFen)
    {
        var collected = residentPaidFen.Sum();
        if (actualCostFen is not { } cost)
            return new ProgrammeCosts(residentPaidFen.Count, residentPaidFen.Count, 0, CostShare.Zero, collected, 0);
        var shares = CostSplit.PerHousehold(cost, residentPaidFen.Count).Select(c => CostShare.For(c)).ToList();
        var outstanding = shares.Select((s, i) => Math.Max(s.ResidentFen - residentPaidFen[i], 0)).Sum();
        return new ProgrammeCosts(residentPaidFen.Count, 0, cost,
            shares.Aggregate(CostShare.Zero, (sum, s) => sum + s), collected, outstanding);
    }

    public static ProgrammeCosts operator +(ProgrammeCosts a, ProgrammeCosts b) => new(
        a.HouseholdsConverted + b.HouseholdsConverted, a.HouseholdsCostPending + b.HouseholdsCostPending,
        a.ActualCostFen + b.ActualCostFen, a.Shares + b.Shares, a.ResidentCollectedFen + b.ResidentCollectedFen,
        a.ResidentOutstandingFen + b.ResidentOutstandingFen);
}
