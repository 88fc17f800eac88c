using Grpc.AspNetCore.HealthChecks;
using Metering.Hosting.Data;
using Metering.Hosting.Grpc;
using Metering.Hosting.Messaging;
using Metering.Hosting.Security;
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

        builder.AddMeteringSecurity(modules);
        var maxRequestBytes = builder.Configuration.GetValue("Security:MaxRequestBytes", new SecurityOptions().MaxRequestBytes);
        builder.Services
            .AddGrpc(options =>
            {
                // Security first: a refused call never reaches the service or its error mapping.
                options.Interceptors.Add<SecurityInterceptor>();
                options.Interceptors.Add<DomainErrorInterceptor>();
                options.MaxReceiveMessageSize = maxRequestBytes;
            })
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
        SecurityHost.AnnounceDevelopmentKeys(app);
        app.UseMeteringSecurity();
        var policies = app.Services.GetRequiredService<PolicyTable>();
        foreach (var module in app.Services.GetServices<ServiceModule>())
        {
            module.MapEndpoints(app);
            var store = policies.Policies.FirstOrDefault(p => p.GetType().Assembly == module.GetType().Assembly)?.AuditStore;
            if (store is not null)
                AuditTrail.MapQueries(app, module.Name, store);
        }

        app.MapGrpcHealthChecksService();
        if (app.Configuration.GetValue("Grpc:EnableReflection", true))
            app.MapGrpcReflectionService();

        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteHealthAsync }).AllowAnonymous();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) }).AllowAnonymous();
        app.MapGet("/", (IEnumerable<ServiceModule> modules) => Results.Ok(new
        {
            system = "metering",
            services = modules.Select(m => m.Name),
        })).WithMetadata(new RouteRoles([Roles.Operator, Roles.Admin, Roles.Auditor, .. AccessPolicy.AllChannels]));
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
