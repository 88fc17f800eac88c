using MassTransit;
using Metering.Hosting;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Hosting.Security;
using Metering.Readings.Data;
using Metering.Readings.Domain;
using Metering.Readings.Events;
using Metering.Readings.Grpc;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Metering.Readings;

/// <summary>Meter readings: the accounts' meters and readings (rollover, replacement, estimates, holds, corrections, bulk loads) and the consumption events for Billing.</summary>
public sealed class ReadingsModule : ServiceModule
{
    public override string Name => "readings";

    public override void AddServices(IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<ReadingsDbContext, SqliteReadingsDbContext, SqlServerReadingsDbContext>("Readings");
        // Other modules of the standalone host register the same clock.
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<ReadingRules>().Bind(builder.Configuration.GetSection("Readings"));
        builder.Services.AddSingleton<WriteGate>();
        builder.Services.AddSingleton<ReadingBatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ReadingBatcher>());
        builder.Services.AddSingleton<IAuditRowQueue, ReadingAuditQueue>();
        builder.Services.AddScoped<ReadingRecorder>();
        builder.Services.AddScoped<ReadingCorrector>();
        builder.Services.AddScoped<BulkIngestor>();
    }

    public override void AddConsumers(IBusRegistrationConfigurator bus)
    {
        bus.AddServiceConsumer<AccountOpenedConsumer>(Name);
        bus.AddServiceConsumer<AccountClosedConsumer>(Name);
    }

    public override void MapEndpoints(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<ReadingsGrpcService>();
}
