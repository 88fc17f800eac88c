using Metering.Accounts;
using Metering.Billing;
using Metering.Hosting;
using Metering.Payments;
using Metering.Readings;

namespace Metering.Standalone;

/// <summary>The four services this host runs side by side, each on its own SQLite file.</summary>
public sealed class StandaloneHost
{
    public static ServiceModule[] Modules() =>
        [new AccountsModule(), new ReadingsModule(), new BillingModule(), new PaymentsModule()];
}
