using MassTransit;
using Metering.Hosting;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Payments.Data;
using Metering.Payments.Events;
using Metering.Payments.Grpc;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Metering.Payments;

/// <summary>The account ledger: receivables from bills, channels' payments, credit, and <c>PaymentReceived</c>.</summary>
public sealed class PaymentsModule : ServiceModule
{
    public override string Name => "payments";

    public override void AddServices(IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<PaymentsDbContext, SqlitePaymentsDbContext, SqlServerPaymentsDbContext>("Payments");
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddScoped<PaymentPoster>();
    }

    public override void AddConsumers(IBusRegistrationConfigurator bus)
    {
        bus.AddServiceConsumer<AccountOpenedConsumer>(Name);
        bus.AddServiceConsumer<BillIssuedConsumer>(Name);
    }

    public override void MapEndpoints(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<PaymentsGrpcService>();
}
