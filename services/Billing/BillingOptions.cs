namespace Metering.Billing;

/// <summary>Billing's settings, from the <c>Billing</c> section.</summary>
public sealed class BillingOptions
{
    /// <summary>Days from a run's cut-off to its bills' due date.</summary>
    public int PaymentTermDays { get; set; } = 30;

    /// <summary>Accounts billed per transaction of a run: bounds memory, lock time, and the size of one BillIssued.</summary>
    public int RunBatchSize { get; set; } = 200;
}
