using Metering.Hosting;

namespace Metering.Billing;

// Placeholder until the service is built: it hosts nothing yet.
public sealed class BillingModule : ServiceModule
{
    public override string Name => "billing";

    public override void AddServices(IHostApplicationBuilder builder)
    {
    }

    public override void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
    }
}
