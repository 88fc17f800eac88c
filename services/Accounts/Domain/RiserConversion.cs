using Metering.Domain;

namespace Metering.Accounts.Domain;

/// <summary>A meter the fitters installed outside one flat.</summary>
public sealed record MeterInstallation(string Unit, string MeterSerial, long InitialRegisterLitres);

/// <summary>A household of the riser being converted, as the conversion check needs it.</summary>
public sealed record ConvertingHousehold(long HouseholdId, string Unit, ConsentState Consent);

/// <summary>
/// The checks that make a riser convertible, before anything is written: not converted yet, every household
/// consented, exactly one well-formed meter per household, no serial twice.
/// </summary>
public static class RiserConversion
{
    public const string MetersField = "meters";

    public static IReadOnlyDictionary<long, MeterInstallation> Plan(
        string riserLabel, bool alreadyConverted, IReadOnlyCollection<ConvertingHousehold> households,
        IReadOnlyList<MeterInstallation> meters)
    {
        if (alreadyConverted)
            throw new FailedPreconditionException($"riser {riserLabel} is already converted");
        RiserConsent.RequireAllConsented(riserLabel, households.Select(h => new HouseholdConsent(h.Unit, h.Consent)).ToList());

        var byUnit = new Dictionary<string, MeterInstallation>(StringComparer.Ordinal);
        var serials = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < meters.Count; i++)
        {
            var field = $"{MetersField}[{i}]";
            var unit = Fields.Required(meters[i].Unit, $"{field}.unit", HouseholdDetails.MaxUnitLength);
            var serial = Fields.Required(meters[i].MeterSerial, $"{field}.meter_serial", 32);
            if (!serial.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
                throw new InvalidArgumentException($"{field}.meter_serial", "may contain letters, digits and '-' only");
            if (meters[i].InitialRegisterLitres is < 0 or >= AccountDetails.DefaultRegisterCapacityLitres)
                throw new InvalidArgumentException($"{field}.initial_register_litres",
                    $"must be between 0 and {AccountDetails.DefaultRegisterCapacityLitres - 1} litres, got {meters[i].InitialRegisterLitres}");
            if (!byUnit.TryAdd(unit, new MeterInstallation(unit, serial, meters[i].InitialRegisterLitres)))
                throw new InvalidArgumentException($"{field}.unit", $"unit {unit} has more than one meter");
            if (!serials.Add(serial))
                throw new InvalidArgumentException($"{field}.meter_serial", $"meter {serial} is given for two units");
        }

        var units = households.Select(h => h.Unit).ToHashSet(StringComparer.Ordinal);
        var unknown = byUnit.Keys.Where(u => !units.Contains(u)).ToList();
        if (unknown.Count > 0)
            throw new InvalidArgumentException(MetersField, $"units not on riser {riserLabel}: {string.Join(", ", unknown)}");
        var withoutMeter = households.Where(h => !byUnit.ContainsKey(h.Unit)).Select(h => h.Unit).ToList();
        if (withoutMeter.Count > 0)
            throw new InvalidArgumentException(MetersField, $"no meter given for units: {string.Join(", ", withoutMeter)}");

        return households.ToDictionary(h => h.HouseholdId, h => byUnit[h.Unit]);
    }
}

/// <summary>Splits a riser's actual cost over its households (to the fen, the first households take the odd fen).</summary>
public static class CostSplit
{
    public static IReadOnlyList<long> PerHousehold(long riserCostFen, int households)
    {
        if (households <= 0)
            return [];
        var each = riserCostFen / households;
        var odd = riserCostFen % households;
        return Enumerable.Range(0, households).Select(i => each + (i < odd ? 1 : 0)).ToList();
    }

    /// <summary>The shares of a whole riser: each household's share of its own part of the cost, summed.</summary>
    public static CostShare ForRiser(long riserCostFen, int households) =>
        PerHousehold(riserCostFen, households).Aggregate(CostShare.Zero, (sum, cost) => sum + CostShare.For(cost));
}
