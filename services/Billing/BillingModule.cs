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
    // Read in AddServices (which the host calls first) for the runs queue's endpoint in AddConsumers.
    private int _runConcurrency = 1;

    public override string Name => "billing";

    public override void AddServices(IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<BillingDbContext, SqliteBillingDbContext, SqlServerBillingDbContext>("Billing");
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<BillingOptions>().Bind(builder.Configuration.GetSection("Billing"))
            .Validate(o => o.PaymentTermDays >= 0 && o.RunBatchSize > 0 && o.RunChunkSize > 0,
                "Billing:PaymentTermDays must be ≥ 0, Billing:RunBatchSize and Billing:RunChunkSize > 0");
        builder.Services.AddScoped<BillingRunProcessor>();
        _runConcurrency = builder.Configuration.GetValue("Billing:RunConcurrency", 1);
    }

    public override void AddConsumers(IBusRegistrationConfigurator bus)
    {
        bus.AddServiceConsumer<AccountOpenedConsumer>("billing");
        bus.AddServiceConsumer<ReadingAcceptedConsumer>("billing");
        bus.AddServiceConsumer<ReadingBatchAcceptedConsumer>("billing");
        bus.AddServiceConsumer<ReadingCorrectedConsumer>("billing");
        bus.AddServiceConsumer<HouseholdDetailsChangedConsumer>("billing");
        bus.AddServiceConsumer<AccountClosedConsumer>("billing");
        bus.AddServiceConsumer<PaymentAllocatedConsumer>("billing");
        // Runs have their own queue: a long run does not hold up the events above, and replicas share the runs.
        // Chunks are database-bound: a replica takes Billing:RunConcurrency at a time (1 suits SQLite, whose writers
        // queue on one lock), and the run scales out by replicas. Without a limit, a prefetch of chunks would all
        // wait on the database, blocking threads until the replica no longer answers its health checks.
        AddRunConsumer<ProcessBillingRunConsumer>(bus);
        AddRunConsumer<ProcessBillingRunFaultConsumer>(bus);
        AddRunConsumer<BillingRunChunkConsumer>(bus);
        AddRunConsumer<BillingRunChunkFaultConsumer>(bus);
    }

    private void AddRunConsumer<TConsumer>(IBusRegistrationConfigurator bus) where TConsumer : class, IConsumer =>
        bus.AddConsumer<TConsumer>().Endpoint(e =>
        {
            e.Name = BillingGrpcService.RunsQueue;
            e.ConcurrentMessageLimit = _runConcurrency;
            e.PrefetchCount = _runConcurrency;
        });

    public override void MapEndpoints(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<BillingGrpcService>();
}
