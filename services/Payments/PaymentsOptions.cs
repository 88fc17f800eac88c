using Metering.Payments.Domain;

namespace Metering.Payments;

/// <summary>The <c>Payments</c> configuration section.</summary>
public sealed class PaymentsOptions
{
    /// <summary>The largest single payment a channel may post, in fen.</summary>
    public long MaxAmountFen { get; set; } = PaymentInstruction.MaxAmountFen;
}
