using Metering.Domain;

namespace Metering.Accounts.Domain;

public enum ConsentState { Missing, Consented, Refused }

/// <summary>One household of a riser as the conversion check sees it.</summary>
public sealed record HouseholdConsent(string Unit, ConsentState State);

/// <summary>A riser converts only when every household has consented; one refusal or missing signature blocks it.</summary>
public static class RiserConsent
{
    public static IReadOnlyList<string> BlockingUnits(IEnumerable<HouseholdConsent> households) =>
        households.Where(h => h.State != ConsentState.Consented)
            .Select(h => h.State == ConsentState.Refused ? $"{h.Unit} (refused)" : $"{h.Unit} (no signature)")
            .ToList();

    public static void RequireAllConsented(string riserLabel, IReadOnlyCollection<HouseholdConsent> households)
    {
        if (households.Count == 0)
            throw new FailedPreconditionException($"riser {riserLabel} has no households to convert");
        var blocking = BlockingUnits(households);
        if (blocking.Count > 0)
            throw new FailedPreconditionException(
                $"riser {riserLabel} cannot be converted until every household consents; blocking: {string.Join(", ", blocking)}");
    }
}
