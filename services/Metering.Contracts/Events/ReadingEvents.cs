namespace Metering.Contracts.Events;

/// <summary>
/// A reading passed its checks: the consumption between the previous reading and this one is billable.
/// Consumption may be negative when an actual reading corrects an earlier estimate.
/// </summary>
public sealed record ReadingAccepted(
    Guid ReadingId,
    string UserNumber,
    DateOnly PreviousReadOn,
    long PreviousRegisterLitres,
    DateOnly ReadOn,
    long RegisterLitres,
    long ConsumptionLitres,
    string Kind,
    DateTimeOffset OccurredAt);
