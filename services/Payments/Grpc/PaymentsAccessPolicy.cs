using Metering.Contracts.Payments.V1;
using Metering.Hosting.Security;
using Metering.Payments.Data;

namespace Metering.Payments.Grpc;

/// <summary>
/// Who may call each Payments RPC (issue 8). Channels query balances (masked) and post, reverse and
/// reconcile as themselves only; operators do everything, including counter payments; auditors read.
/// </summary>
public sealed class PaymentsAccessPolicy : AccessPolicy
{
    public PaymentsAccessPolicy() : base(Contracts.Payments.V1.Payments.Descriptor, typeof(PaymentsDbContext))
    {
        Allow("GetBalance", Access.Read, Readers, AllChannels);
        AllowForChannel<PostPaymentRequest>("PostPayment", Access.Change, r => r.Channel, Operators, AllChannels);
        AllowForChannel<ReversePaymentRequest>("ReversePayment", Access.Change, r => r.Channel, Operators, AllChannels);
        AllowForChannel<ReconcileStatementRequest>("ReconcileStatement", Access.Change, r => r.Channel, Operators, AllChannels);

        // Unmasked holder and the full ledger: inside the utility only.
        Allow("GetAccountLedger", Access.Read, Readers);

        // Withholding is run by operators; the bank's files come back through them.
        Allow("PutWithholdingMandate", Access.Change, Operators);
        Allow("RevokeWithholdingMandate", Access.Change, Operators);
        Allow("ExportWithholdingBatch", Access.Change, Operators);
        Allow("ImportWithholdingResult", Access.Change, Operators);
    }
}
