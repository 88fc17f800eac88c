namespace Metering.Contracts.Events;

/// <summary>A household became a customer: it has a user number and a meter with an initial register value.</summary>
public sealed record AccountOpened(
    string UserNumber,
    string HolderName,
    string Address,
    string Phone,
    int Persons,
    string MeterSerial,
    long InitialRegisterLitres,
    DateOnly OpenedOn,
    DateTimeOffset OccurredAt);

/// <summary>An account was closed: no readings, bills or payments are taken for it after <paramref name="ClosedOn"/>.</summary>
public sealed record AccountClosed(string UserNumber, DateOnly ClosedOn, string Reason, DateTimeOffset OccurredAt);

/// <summary>
/// The holder (过户) or the registered persons changed, from <paramref name="EffectiveOn"/>. Carries the whole
/// current record, so a consumer that missed an earlier change still ends up right.
/// </summary>
public sealed record HouseholdDetailsChanged(
    string UserNumber,
    string HolderName,
    string Address,
    string Phone,
    int Persons,
    DateOnly EffectiveOn,
    DateTimeOffset OccurredAt);

/// <summary>A handover manifest (the user numbers of a riser or community) was handed to a contractor or owners' representative.</summary>
public sealed record HandoverIssued(
    Guid ManifestId,
    string Scope,
    long ScopeId,
    string Recipient,
    DateOnly HandedOverOn,
    IReadOnlyList<string> UserNumbers,
    DateTimeOffset OccurredAt);
