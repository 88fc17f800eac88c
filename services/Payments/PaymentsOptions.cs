using Metering.Payments.Domain;

namespace Metering.Payments;

/// <summary>The <c>Payments</c> configuration section.</summary>
public sealed class PaymentsOptions
{
    /// <summary>The largest single payment a channel may post, in fen.</summary>
    public long MaxAmountFen { get; set; } = PaymentInstruction.MaxAmountFen;

    /// <summary>
    /// On SQLite, a BillIssued's bills are written by statements on the raw SQLite handle
    /// (<see cref="Data.ReceivableBulkWriter"/>); false takes the EF Core path, SQL Server's (for comparison).
    /// </summary>
    public bool PreparedBills { get; set; } = true;
}
