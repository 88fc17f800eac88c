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

/// <summary>A payment was reversed (a channel refund): its allocations are undone and those bills are open again.</summary>
public sealed record PaymentReversed(
    Guid PaymentId,
    string UserNumber,
    string Channel,
    string ChannelTransactionId,
    long AmountFen,
    IReadOnlyList<PaymentAllocationLine> UndoneAllocations,
    DateTimeOffset OccurredAt);

/// <summary>
/// Money was applied to an account's bills, from a payment (<paramref name="PaymentId"/>) or from credit
/// (null). <paramref name="BalanceFen"/> is what the account owes afterwards (negative: credit), which
/// Billing shows on the next bill as the balance brought forward.
/// </summary>
public sealed record PaymentAllocated(
    string UserNumber,
    Guid? PaymentId,
    IReadOnlyList<PaymentAllocationLine> Allocations,
    long BalanceFen,
    DateTimeOffset OccurredAt);
