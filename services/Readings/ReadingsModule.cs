using MassTransit;
using Metering.Hosting;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Readings.Data;
using Metering.Readings.Domain;
using Metering.Readings.Events;
using Metering.Readings.Grpc;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Metering.Readings;

/// <summary>Meter readings: the accounts' meters, their readings, and <c>ReadingAccepted</c> for Billing.</summary>
public sealed class ReadingsModule : ServiceModule
{
    public override string Name => "readings";

    public override void AddServices(IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<ReadingsDbContext, SqliteReadingsDbContext, SqlServerReadingsDbContext>("Readings");
        // Other modules of the standalone host register the same clock.
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddScoped<ReadingRecorder>();
    }

    public override void AddConsumers(IBusRegistrationConfigurator bus) =>
        bus.AddServiceConsumer<AccountOpenedConsumer>(Name);

    public override void MapEndpoints(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<ReadingsGrpcService>();
}
