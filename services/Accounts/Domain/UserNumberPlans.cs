using System.Collections.Concurrent;

namespace Metering.Accounts.Domain;

/// <summary>
/// The default user-number plan and the districts that have their own prefix (<c>Accounts:DistrictPrefixes</c>).
/// No prefix may start another one: "1" and "12" would both issue 120000001x.
/// </summary>
public sealed class UserNumberPlans
{
    private readonly ConcurrentDictionary<string, UserNumberPlan> _byPrefix;
    private readonly Dictionary<string, string> _districts;

    public UserNumberPlans(UserNumberPlan defaultPlan, IReadOnlyDictionary<string, string> districtPrefixes)
    {
        Default = defaultPlan;
        _districts = districtPrefixes.ToDictionary(d => d.Key.Trim(), d => d.Value.Trim(), StringComparer.Ordinal);
        _byPrefix = new ConcurrentDictionary<string, UserNumberPlan>(StringComparer.Ordinal) { [defaultPlan.Prefix] = defaultPlan };
        foreach (var prefix in _districts.Values.Distinct())
            _byPrefix.TryAdd(prefix, new UserNumberPlan(prefix));
        foreach (var a in _byPrefix.Keys)
            foreach (var b in _byPrefix.Keys)
                if (a != b && b.StartsWith(a, StringComparison.Ordinal))
                    throw new ArgumentException(
                        $"user-number prefixes '{a}' and '{b}' overlap: numbers under them could collide", nameof(districtPrefixes));
    }

    public UserNumberPlan Default { get; }

    /// <summary>The prefix a community in <paramref name="district"/> gets when it is registered.</summary>
    public string PrefixFor(string district) => _districts.GetValueOrDefault(district, Default.Prefix);

    /// <summary>A prefix since removed from the configuration keeps working for the communities that have it.</summary>
    public UserNumberPlan ForPrefix(string? prefix) =>
        prefix is null ? Default : _byPrefix.GetOrAdd(prefix, p => new UserNumberPlan(p));
}
