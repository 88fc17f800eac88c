using Grpc.AspNetCore.HealthChecks;
using Metering.Hosting.Data;
using Metering.Hosting.Grpc;
using Metering.Hosting.Messaging;
using Metering.Hosting.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Metering.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Metering.Hosting;

/// <summary>The two calls every host makes: <see cref="AddMetering"/> before Build, <see cref="MapMetering"/> after.</summary>
public static class MeteringHost
{
    private const string LiveTag = "live";

    public static WebApplicationBuilder AddMetering(this WebApplicationBuilder builder, params ServiceModule[] modules)
    {
        if (modules.Length == 0)
            throw new ArgumentException("a host needs at least one service module", nameof(modules));

        var serviceName = modules.Length == 1 ? $"metering-{modules[0].Name}" : "metering-standalone";

        // Registered first so that every database is migrated before the bus and the relays start.
        builder.Services.AddHostedService<DatabaseMigrationService>();

        builder.Services
            .AddGrpc(options => options.Interceptors.Add<DomainErrorInterceptor>())
            .AddJsonTranscoding(options => options.TypeRegistry = ErrorDetails.TypeRegistry);
        builder.Services.AddGrpcReflection();
        // "" answers for every check (readiness: databases and bus); "liveness" only for the process itself,
        // so a broker outage makes pods unready rather than restarting them.
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), tags: [LiveTag]);
        builder.Services.AddGrpcHealthChecks(options =>
        {
            options.Services.Map("", _ => true);
            options.Services.Map("liveness", check => check.Tags.Contains(LiveTag));
        });

        builder.AddMeteringTelemetry(serviceName);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton(UtilityCalendar.For(builder.Configuration["Utility:TimeZone"]));

        foreach (var module in modules)
        {
            module.AddServices(builder);
            builder.Services.AddSingleton(module);
        }

        builder.AddMeteringBus(modules);
        return builder;
    }

    public static WebApplication MapMetering(this WebApplication app)
    {
        foreach (var module in app.Services.GetServices<ServiceModule>())
            module.MapEndpoints(app);

        app.MapGrpcHealthChecksService();
        if (app.Configuration.GetValue("Grpc:EnableReflection", true))
            app.MapGrpcReflectionService();

        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteHealthAsync });
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        app.MapGet("/", (IEnumerable<ServiceModule> modules) => Results.Ok(new
        {
            system = "metering",
            services = modules.Select(m => m.Name),
        }));
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        });
    }
}
