using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Metering.Hosting;

/// <summary>
/// One service's setup, so that its own process and the standalone host wire it the same way:
/// its DbContext and domain services, its bus consumers, its gRPC endpoints.
/// </summary>
public abstract class ServiceModule
{
    /// <summary>Short lower-case name: <c>accounts</c>, <c>readings</c>, <c>billing</c>, <c>payments</c>.</summary>
    public abstract string Name { get; }

    public abstract void AddServices(IHostApplicationBuilder builder);

    public virtual void AddConsumers(IBusRegistrationConfigurator bus)
    {
    }

    public abstract void MapEndpoints(IEndpointRouteBuilder endpoints);
}
