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
        var defaultPlan = new UserNumberPlan(builder.Configuration["Accounts:UserNumberPrefix"] ?? UserNumberPlan.DefaultPrefix);
        var districtPrefixes = builder.Configuration.GetSection("Accounts:DistrictPrefixes").Get<Dictionary<string, string>>() ?? [];
        builder.Services.AddSingleton(defaultPlan);
        builder.Services.AddSingleton(new UserNumberPlans(defaultPlan, districtPrefixes));
        builder.Services.AddScoped<UserNumberAllocator>();
        builder.Services.AddSingleton<BulkWriteGate>();
        // A survey of a large community arrives as one CSV message.
        builder.Services.AddGrpc().AddServiceOptions<AccountsGrpcService>(o => o.MaxReceiveMessageSize = MaxSurveyBytes);
    }

    public const int MaxSurveyBytes = 64 * 1024 * 1024;

    public override void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<AccountsGrpcService>();
        // The manifest as a file for a browser or curl -O (the gRPC/JSON answer carries the same bytes).
        endpoints.MapGet("/v1/handovers/{manifestId:guid}/manifest.csv", HandoverDownload.GetAsync);
    }
}
