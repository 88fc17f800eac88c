using MassTransit;
using Metering.Hosting;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Payments.Data;
using Metering.Payments.Events;
using Metering.Payments.Grpc;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Metering.Payments;

/// <summary>The account ledger: receivables from bills, channels' payments, credit, reversals, reconciliation and bank withholding.</summary>
public sealed class PaymentsModule : ServiceModule
{
    public override string Name => "payments";

    public override void AddServices(IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<PaymentsDbContext, SqlitePaymentsDbContext, SqlServerPaymentsDbContext>("Payments");
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.Configure<PaymentsOptions>(builder.Configuration.GetSection("Payments"));
        builder.Services.AddSingleton<LedgerWriteGate>();
        builder.Services.AddSingleton<BalanceReader>();
        builder.Services.AddSingleton<PostingBatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<PostingBatcher>());
        builder.Services.AddScoped<PaymentPoster>();
        builder.Services.AddScoped<PaymentReverser>();
        builder.Services.AddScoped<Reconciler>();
        builder.Services.AddScoped<WithholdingDesk>();
    }

    public override void AddConsumers(IBusRegistrationConfigurator bus)
    {
        bus.AddServiceConsumer<AccountOpenedConsumer>(Name);
        bus.AddServiceConsumer<BillIssuedConsumer>(Name);
        bus.AddServiceConsumer<BillCancelledConsumer>(Name);
    }

    public override void MapEndpoints(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<PaymentsGrpcService>();
}
