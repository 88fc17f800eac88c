using Metering.Billing.Data;
using Metering.Hosting.Security;

namespace Metering.Billing.Grpc;

/// <summary>Who may call each Billing RPC (issue 8): operators run billing, admins own the tariffs, auditors read.</summary>
public sealed class BillingAccessPolicy : AccessPolicy
{
    public BillingAccessPolicy() : base(Contracts.Billing.V1.Billing.Descriptor, typeof(BillingDbContext))
    {
        Allow("StartBillingRun", Access.Change, Operators);
        Allow("GetBillingRun", Access.Read, Readers);
        Allow("WatchBillingRun", Access.Read, Readers);
        Allow("GetBill", Access.Read, Readers);
        Allow("ListBills", Access.Read, Readers);
        Allow("GetAnnualStatement", Access.Read, Readers);
        Allow("GetUnbilledConsumption", Access.Read, Readers);

        // Tariffs are set by admins only; everybody inside the utility may read them.
        Allow("CreateTariffVersion", Access.Change, Admins);
        Allow("ListTariffVersions", Access.Read, Readers, Admins);
        Allow("GetTariffInForce", Access.Read, Readers, Admins);
    }
}
