using System.Text;
using Metering.Domain;

namespace Metering.Payments.Domain;

/// <summary>
/// What a payment channel may show of a household: enough for the payer to recognise their own
/// home (张*明, 幸福小区 3号楼), not enough to find a family's flat or full name from a user number.
/// </summary>
public static class Masking
{
    private static readonly string[] BuildingMarks = ["号楼", "栋", "幢", "座", "号院"];

    /// <summary>张三明 → 张*明, 张三 → 张*, 欧阳小明 → 欧**明; one character stays as it is.</summary>
    public static string HolderName(string? name) => PersonalName.Mask(name, hideSingleCharacter: false);

    /// <summary>
    /// The community and the building, nothing finer: "东昌府区 幸福小区 3号楼 2单元 301" → "幸福小区 3号楼".
    /// Addresses are written with spaces between their parts (Accounts' convention); an address
    /// without a recognisable building keeps its community part only.
    /// </summary>
    public static string Address(string? address)
    {
        var parts = (address ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            return "";
        var building = Array.FindIndex(parts, IsBuilding);
        if (building < 0)
            return IsDistrict(parts[0]) && parts.Length > 1 ? parts[1] : parts[0];
        var start = building > 0 && !IsDistrict(parts[building - 1]) ? building - 1 : building;
        var kept = new StringBuilder();
        for (var i = start; i <= building; i++)
            kept.Append(kept.Length == 0 ? "" : " ").Append(parts[i]);
        return kept.ToString();
    }

    // Ordinal: string.EndsWith(string) alone compares by culture (ICU), a cost on every balance query.
    private static bool IsBuilding(string part)
    {
        foreach (var mark in BuildingMarks)
        {
            if (part.EndsWith(mark, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    // 东昌府区, 茌平县, 临清市; but 幸福小区 is a community.
    private static bool IsDistrict(string part) =>
        (part.EndsWith('区') && !part.EndsWith("小区", StringComparison.Ordinal)) || part.EndsWith('县') || part.EndsWith('市');
}
