namespace Metering.Contracts.Events;

/// <summary>Bills issued by one billing run, batched so that a city's run is not a million messages.</summary>
public sealed record BillIssued(Guid RunId, IReadOnlyList<IssuedBill> Bills, DateTimeOffset OccurredAt);

public sealed record IssuedBill(
    Guid BillId,
    string UserNumber,
    DateOnly PeriodStart,
    DateOnly PeriodEnd,
    long VolumeLitres,
    long AmountFen,
    DateOnly DueDate);

/// <summary>Work item of a billing run: one Billing replica processes it (sent to a queue, not published).</summary>
public sealed record ProcessBillingRun(Guid RunId);

/// <summary>A bill was cancelled (its consumption was corrected); the ledger no longer owes it.</summary>
public sealed record BillCancelled(
    Guid BillId,
    string UserNumber,
    long AmountFen,
    string Reason,
    Guid? ReplacedByBillId,
    DateTimeOffset OccurredAt);
