using Metering.Hosting;

namespace Metering.Readings;

// Placeholder until the service is built: it hosts nothing yet.
public sealed class ReadingsModule : ServiceModule
{
    public override string Name => "readings";

    public override void AddServices(IHostApplicationBuilder builder)
    {
    }

    public override void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
    }
}
