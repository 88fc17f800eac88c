using System.Collections.Concurrent;

namespace Metering.Billing.Domain;

/// <summary>
/// Raises every tier threshold of a tariff for large households: <see cref="ExtraLitresPerPerson"/> per
/// year for each registered person above <see cref="BaseHouseholdSize"/> (e.g. +30 m³ per person above 5).
/// </summary>
public sealed record LargeHouseholdRule(int BaseHouseholdSize, long ExtraLitresPerPerson)
{
    public long ExtraLitres(int persons) => persons > BaseHouseholdSize ? checked((persons - BaseHouseholdSize) * ExtraLitresPerPerson) : 0;
}

/// <summary>
/// One effective-dated version of the residential tariff: in force from <see cref="EffectiveFrom"/> until
/// the next version starts. Thresholds are annual, so a version change mid-year keeps the year's position.
/// </summary>
public sealed class TariffVersion
{
    // Derived tariffs per threshold rise: a run asks for the same few household sizes a million times.
    private readonly ConcurrentDictionary<long, Tariff> _byExtraLitres = new();

    public TariffVersion(string name, DateOnly effectiveFrom, IReadOnlyList<TariffTier> tiers, LargeHouseholdRule? largeHousehold)
    {
        if (tiers.Any(t => t.PriceFenPerM3 <= 0))
            throw new ArgumentException("every tier needs a positive price", nameof(tiers));
        if (largeHousehold is { } rule && (rule.BaseHouseholdSize < 1 || rule.ExtraLitresPerPerson <= 0))
            throw new ArgumentException("a large-household rule needs a base size ≥ 1 and positive extra litres per person", nameof(largeHousehold));
        Base = new Tariff(name, tiers);
        EffectiveFrom = effectiveFrom;
        LargeHousehold = largeHousehold;
        _byExtraLitres[0] = Base;
    }

    /// <summary>Liaocheng residential as the utility runs it today: large-household rule off.</summary>
    public static TariffVersion LiaochengDefault { get; } =
        new(Tariff.Liaocheng.Code, new DateOnly(2000, 1, 1), Tariff.Liaocheng.Tiers, null);

    public string Name => Base.Code;

    public DateOnly EffectiveFrom { get; }

    public Tariff Base { get; }

    public LargeHouseholdRule? LargeHousehold { get; }

    /// <summary>The tariff for a household of <paramref name="persons"/>: thresholds raised by the large-household rule, if any.</summary>
    public Tariff For(int persons)
    {
        var extra = LargeHousehold?.ExtraLitres(persons) ?? 0;
        return _byExtraLitres.GetOrAdd(extra,
            rise => new Tariff(Name, Base.Tiers.Select(t => t with { UpToLitres = t.UpToLitres + rise }).ToList()));
    }
}

/// <summary>The versions of the tariff in effective-date order; the one in force on a day is the latest started.</summary>
public sealed class TariffSchedule
{
    public TariffSchedule(IEnumerable<TariffVersion> versions)
    {
        Versions = versions.OrderBy(v => v.EffectiveFrom).ToList();
        if (Versions.Count == 0)
            throw new ArgumentException("a schedule needs at least one tariff version", nameof(versions));
        for (var i = 1; i < Versions.Count; i++)
            if (Versions[i].EffectiveFrom == Versions[i - 1].EffectiveFrom)
                throw new ArgumentException($"two tariff versions start on {Versions[i].EffectiveFrom:yyyy-MM-dd}", nameof(versions));
    }

    public static TariffSchedule Single(TariffVersion version) => new([version]);

    public IReadOnlyList<TariffVersion> Versions { get; }

    /// <summary>The version in force on <paramref name="day"/>; before the first version, the first one.</summary>
    public TariffVersion InForceOn(DateOnly day)
    {
        var current = Versions[0];
        foreach (var version in Versions)
        {
            if (version.EffectiveFrom > day)
                break;
            current = version;
        }
        return current;
    }

    /// <summary>Days on which a later version starts.</summary>
    public IEnumerable<DateOnly> Changes => Versions.Skip(1).Select(v => v.EffectiveFrom);

    /// <summary>
    /// Whether <paramref name="candidate"/> may join the schedule as a future version: it must start after
    /// <paramref name="today"/> and on a day no other version starts. Returns the refusal, or null.
    /// </summary>
    public string? RefusalOfNewVersion(DateOnly effectiveFrom, DateOnly today)
    {
        if (effectiveFrom <= today)
            return $"{effectiveFrom:yyyy-MM-dd} is not in the future; versions in force are not changed, add a later one";
        if (Versions.Any(v => v.EffectiveFrom == effectiveFrom))
            return $"a tariff version already starts on {effectiveFrom:yyyy-MM-dd}; versions may not overlap";
        return null;
    }
}

/// <summary>The registered persons of a household from a day on (from AccountOpened, then HouseholdDetailsChanged).</summary>
public readonly record struct HouseholdSize(DateOnly EffectiveOn, int Persons);

/// <summary>What the charge of one account depends on besides its consumption: the tariff versions and its household sizes.</summary>
public sealed class ChargeBasis
{
    private readonly IReadOnlyList<HouseholdSize> _sizes;

    public ChargeBasis(TariffSchedule schedule, IEnumerable<HouseholdSize> sizes)
    {
        Schedule = schedule;
        _sizes = sizes.OrderBy(s => s.EffectiveOn).ToList();
    }

    public static ChargeBasis Of(Tariff tariff) =>
        new(TariffSchedule.Single(new TariffVersion(tariff.Code, DateOnly.MinValue, tariff.Tiers, null)), []);

    public TariffSchedule Schedule { get; }

    /// <summary>Persons on a day: the latest size in effect, the first known before that, 1 when nothing is known.</summary>
    public int PersonsOn(DateOnly day)
    {
        if (_sizes.Count == 0)
            return 1;
        var persons = _sizes[0].Persons;
        foreach (var size in _sizes)
        {
            if (size.EffectiveOn > day)
                break;
            persons = size.Persons;
        }
        return persons;
    }

    /// <summary>Days from which the tariff or household size may change what a litre costs.</summary>
    public IEnumerable<DateOnly> Changes => Schedule.Changes.Concat(_sizes.Skip(1).Select(s => s.EffectiveOn));

    public Tariff TariffOn(DateOnly day) => Schedule.InForceOn(day).For(PersonsOn(day));
}
