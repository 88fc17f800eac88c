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

/// <summary>
/// Readings accepted by a bulk load, published together so that a route file of thousands of rows is a
/// handful of messages. Each element means exactly what a single <see cref="ReadingAccepted"/> means.
/// </summary>
public sealed record ReadingBatchAccepted(IReadOnlyList<ReadingAccepted> Readings, DateTimeOffset OccurredAt);

/// <summary>
/// The consumption of an accepted reading changed (an operator corrected it, or the reading before it).
/// Correcting reading N changes the consumption of N and of N+1, so Readings publishes one event per
/// reading whose consumption changed. Billing cancels the bill that billed the old consumption and
/// re-bills the new one; an unbilled reading simply takes the new value.
/// </summary>
public sealed record ReadingCorrected(
    Guid ReadingId,
    string UserNumber,
    DateOnly PreviousReadOn,
    DateOnly ReadOn,
    long OldConsumptionLitres,
    long NewConsumptionLitres,
    long PreviousRegisterLitres,
    long RegisterLitres,
    string Reason,
    DateTimeOffset OccurredAt);
