using Metering.Accounts.Data;
using Metering.Accounts.Domain;
using Metering.Accounts.Grpc;
using Metering.Hosting;
using Metering.Hosting.Data;

namespace Metering.Accounts;

/// <summary>The account registry: households, their user numbers, and <c>AccountOpened</c>.</summary>
public sealed class AccountsModule : ServiceModule
{
    public override string Name => "accounts";

    public override void AddServices(IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<AccountsDbContext, SqliteAccountsDbContext, SqlServerAccountsDbContext>("Accounts");
        builder.Services.AddSingleton(new UserNumberPlan(builder.Configuration["Accounts:UserNumberPrefix"] ?? UserNumberPlan.DefaultPrefix));
        builder.Services.AddScoped<UserNumberAllocator>();
    }

    public override void MapEndpoints(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<AccountsGrpcService>();
}
