using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Metering.Hosting.Telemetry;

public static class MeteringTelemetry
{
    public const string Name = "Metering";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>
    /// Traces and metrics from ASP.NET Core (incl. gRPC), EF Core, MassTransit and our own outbox relay;
    /// exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is configured. Logs stay structured
    /// on the console (JSON when <c>Logging:Console:FormatterName</c> is <c>json</c>) and go to OTLP too.
    /// </summary>
    public static IHostApplicationBuilder AddMeteringTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? serviceName))
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/health"))
                .AddHttpClientInstrumentation()
                .AddGrpcClientInstrumentation()
                .AddEntityFrameworkCoreInstrumentation()
                .AddSource("MassTransit")
                .AddSource(Name))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("MassTransit")
                .AddMeter(Name));

        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeScopes = true;
            o.IncludeFormattedMessage = true;
        });

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            otel.UseOtlpExporter();
        return builder;
    }
}

internal static class OutboxMetrics
{
    public static readonly Counter<long> Published =
        MeteringTelemetry.Meter.CreateCounter<long>("metering.outbox.published", "{message}", "Outbox rows published");

    public static readonly Histogram<double> Lag =
        MeteringTelemetry.Meter.CreateHistogram<double>("metering.outbox.lag", "ms", "Time from commit to publish");
}

/// <summary>Where a group commit's time goes: how many items a batch took, how long it held the write lock, how long the log's flush took.</summary>
internal static class GroupCommitMetrics
{
    public static readonly Histogram<int> BatchSize =
        MeteringTelemetry.Meter.CreateHistogram<int>("metering.group_commit.batch_size", "{item}", "Items written in one group commit");

    public static readonly Histogram<double> Write =
        MeteringTelemetry.Meter.CreateHistogram<double>("metering.group_commit.write", "ms", "Time a group commit held the write lock, its commit included");

    public static readonly Histogram<double> Queued =
        MeteringTelemetry.Meter.CreateHistogram<double>("metering.group_commit.queued", "ms", "Time an item waited for its group commit to start");

    public static readonly Histogram<double> ItemLatency =
        MeteringTelemetry.Meter.CreateHistogram<double>("metering.group_commit.item_latency", "ms", "Time from an item's queueing to its answer (written and, pipelined, on the disk)");

    public static readonly Histogram<double> Sync =
        MeteringTelemetry.Meter.CreateHistogram<double>("metering.sqlite.wal_sync", "ms", "Time to flush a SQLite write-ahead log to the disk");
}
