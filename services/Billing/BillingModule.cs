using MassTransit;
using Metering.Billing.Data;
using Metering.Billing.Events;
using Metering.Billing.Grpc;
using Metering.Hosting;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Metering.Billing;

/// <summary>Tiered billing: unbilled consumption from Readings, billing runs, bills and <c>BillIssued</c>.</summary>
public sealed class BillingModule : ServiceModule
{
    public override string Name => "billing";

    public override void AddServices(IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<BillingDbContext, SqliteBillingDbContext, SqlServerBillingDbContext>("Billing");
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<BillingOptions>().Bind(builder.Configuration.GetSection("Billing"))
            .Validate(o => o.PaymentTermDays >= 0 && o.RunBatchSize > 0, "Billing:PaymentTermDays must be ≥ 0 and Billing:RunBatchSize > 0");
        builder.Services.AddScoped<BillingRunProcessor>();
    }

    public override void AddConsumers(IBusRegistrationConfigurator bus)
    {
        bus.AddServiceConsumer<AccountOpenedConsumer>("billing");
        bus.AddServiceConsumer<ReadingAcceptedConsumer>("billing");
        // Runs have their own queue: a long run does not hold up the events above, and replicas share the runs.
        bus.AddServiceConsumer<ProcessBillingRunConsumer>(BillingGrpcService.RunsQueue);
        bus.AddServiceConsumer<ProcessBillingRunFaultConsumer>(BillingGrpcService.RunsQueue);
    }

    public override void MapEndpoints(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<BillingGrpcService>();
}
