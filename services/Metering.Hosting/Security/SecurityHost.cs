using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Metering.Hosting.Security;

/// <summary>Wiring of issue 8: keys, policies, limits, audit. Called by <see cref="MeteringHost"/>.</summary>
public static class SecurityHost
{
    public static void AddMeteringSecurity(this WebApplicationBuilder builder, IReadOnlyList<ServiceModule> modules)
    {
        var section = builder.Configuration.GetSection(SecurityOptions.Section);
        var options = section.Get<SecurityOptions>() ?? new SecurityOptions();
        CheckKeysAtStart(builder.Environment, options, standalone: modules.Count > 1);

        builder.Services.Configure<SecurityOptions>(section);
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton(new PolicyTable(PolicyTable.Discover(modules)));
        builder.Services.AddSingleton<AbuseLimits>();
        builder.Services.AddSingleton<AuditTrail>();
        builder.Services.AddSingleton<SecurityInterceptor>();
        builder.Services.AddScoped<AuditBefore>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes);
    }

    /// <summary>
    /// A per-service process outside Development runs only with configured keys: the development
    /// keys are public, so they are allowed only in the standalone host, Development, tests and
    /// the benchmark tools (environment "Benchmark", a local process on a loopback port).
    /// </summary>
    internal static void CheckKeysAtStart(IHostEnvironment environment, SecurityOptions options, bool standalone)
    {
        var relaxed = standalone || environment.IsDevelopment() || environment.IsEnvironment("Testing")
            || environment.IsEnvironment("Benchmark");
        if (options.DevelopmentKeys && !relaxed)
            throw new InvalidOperationException(
                "Security:DevelopmentKeys is set in the " + environment.EnvironmentName + " environment; the development keys are public. " +
                "Configure Security:Keys (see docs/security.md) and turn DevelopmentKeys off.");
        if (options.Keys.Count == 0 && !options.DevelopmentKeys)
            throw new InvalidOperationException(
                "No API keys are configured: set Security:Keys:<i>:Id|Role|SecretHash (see docs/security.md, 'hash-key'), " +
                "or Security:DevelopmentKeys=true for the standalone host and development.");
        ApiKeyStore.Build(options);
    }

    public static void UseMeteringSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        var table = app.Services.GetRequiredService<PolicyTable>();
        // gRPC and its JSON routes are authorised by SecurityInterceptor; this guards the other HTTP routes.
        app.Use(async (context, next) =>
        {
            var endpoint = context.GetEndpoint();
            if (endpoint is null || endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not null
                || endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null)
            {
                await next(context);
                return;
            }
            var caller = Caller.From(context.User);
            if (caller is null)
            {
                var reason = context.Items.TryGetValue(ApiKeyAuthenticationHandler.FailureItem, out var f) && f is string text
                    ? text
                    : $"no API key: send the {ApiKeyAuthenticationHandler.Header} header (keyId.secret)";
                await Refuse(context, StatusCodes.Status401Unauthorized, 16, reason);
                return;
            }
            var roles = endpoint.Metadata.GetMetadata<RouteRoles>()?.Roles ?? RouteRolesOf(table, context, endpoint);
            if (roles is null || !roles.Contains(caller.Role))
            {
                await Refuse(context, StatusCodes.Status403Forbidden, 7, $"role {caller.Role} may not call {context.Request.Method} {context.Request.Path}");
                return;
            }
            await next(context);
        });
    }

    private static IReadOnlyCollection<string>? RouteRolesOf(PolicyTable table, HttpContext context, Endpoint endpoint)
    {
        var template = (endpoint as RouteEndpoint)?.RoutePattern.RawText;
        return table.Routes.FirstOrDefault(r =>
            string.Equals(r.HttpMethod, context.Request.Method, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(r.Template.TrimStart('/'), template?.TrimStart('/'), StringComparison.Ordinal))?.Roles;
    }

    private static Task Refuse(HttpContext context, int status, int code, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { code, message });
    }

    /// <summary>Says loudly, at start, which development keys this host accepts.</summary>
    public static void AnnounceDevelopmentKeys(WebApplication app)
    {
        if (!app.Configuration.GetValue<bool>("Security:DevelopmentKeys"))
            return;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Metering.Security");
        var keys = string.Join(Environment.NewLine, ApiKeyStore.DevelopmentKeys.Select(k => $"  {k.Role,-26} x-api-key: {k.Id}.{k.Secret}"));
        // Printed on the console rather than logged: key secrets never go to the logs.
        Console.WriteLine(
            "WARNING: DEVELOPMENT API KEYS ARE ON. They are public and for development only;" + Environment.NewLine +
            "configure Security:Keys and set Security:DevelopmentKeys=false for any real use." + Environment.NewLine + keys);
        logger.LogWarning("Development API keys are on ({Count} keys); they are public and for development only", ApiKeyStore.DevelopmentKeys.Count);
    }
}
