using Metering.Domain;

namespace Metering.Accounts.Domain;

/// <summary>What a surveyed supply point is; only residential households become accounts (DESIGN.md §4.1).</summary>
public enum SupplyPointKind { Residential, Fire, Gatehouse, Greening, Shop, SingleStoreyHouse }

public static class SupplyPoints
{
    /// <summary>Refuses public supply points as household accounts, naming what they are.</summary>
    public static void RequireResidential(SupplyPointKind kind, string field = "kind")
    {
        var what = kind switch
        {
            SupplyPointKind.Residential => null,
            SupplyPointKind.Fire => "a fire supply point",
            SupplyPointKind.Gatehouse => "a gatehouse",
            SupplyPointKind.Greening => "a greening supply point",
            SupplyPointKind.Shop => "a shop",
            SupplyPointKind.SingleStoreyHouse => "a single-storey house",
            _ => throw new InvalidArgumentException(field, $"unknown supply point kind {kind}"),
        };
        if (what is not null)
            throw new FailedPreconditionException(
                $"{what} is public supply, outside the programme: only residential households become accounts");
    }
}
