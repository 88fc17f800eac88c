using Metering.Hosting;

namespace Metering.Payments;

// Placeholder until the service is built: it hosts nothing yet.
public sealed class PaymentsModule : ServiceModule
{
    public override string Name => "payments";

    public override void AddServices(IHostApplicationBuilder builder)
    {
    }

    public override void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
    }
}
