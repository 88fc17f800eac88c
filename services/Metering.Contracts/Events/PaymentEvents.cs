namespace Metering.Contracts.Events;

/// <summary>A channel's payment was posted to an account's ledger.</summary>
public sealed record PaymentReceived(
    Guid PaymentId,
    string UserNumber,
    string Channel,
    string ChannelTransactionId,
    long AmountFen,
    DateTimeOffset PaidAt,
    IReadOnlyList<PaymentAllocationLine> Allocations,
    long CreditFen,
    DateTimeOffset OccurredAt);

/// <summary>Part of a payment (or of credit) applied to one bill.</summary>
public sealed record PaymentAllocationLine(Guid BillId, long AmountFen);
