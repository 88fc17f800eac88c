using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Metering.Standalone;
using Metering.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using OpenTelemetry.Trace;

namespace Metering.EndToEnd.Tests;

public sealed class TracingTests : IDisposable
{
    private readonly List<Activity> _spans = [];
    private readonly ServiceFactory<StandaloneHost> _host = new();
    private readonly WebApplicationFactory<StandaloneHost> _traced;

    public TracingTests()
    {
        _traced = _host.WithWebHostBuilder(b => b.ConfigureServices(services =>
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans))));
    }

    public void Dispose()
    {
        _traced.Dispose();
        _host.Dispose();
    }

    [Fact]
    public async Task One_trace_follows_a_reading_from_its_RPC_through_the_outbox_and_the_bus_into_Billing()
    {
        var http = _traced.CreateClient();
        var opened = await http.PostAsJsonAsync("/v1/accounts", new
        {
            holderName = "李四", address = "幸福小区 1号楼", phone = "13900000000", persons = 2,
            meterSerial = "T-1", initialRegisterLitres = 0, openedOn = "2026-01-01",
        });
        var userNumber = (await opened.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("userNumber").GetString();

        await Eventually.Get(() => http.PostAsJsonAsync($"/v1/accounts/{userNumber}/readings",
            new { readOn = "2026-02-28", registerLitres = 12_000 }), r => r.IsSuccessStatusCode, what: "the reading");
        await Eventually.Get(() => http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{userNumber}/unbilled-consumption"),
            u => u.GetProperty("volumeLitres").GetInt64() == 12_000, what: "Billing to receive the reading");

        var request = await Eventually.Get(
            () => Task.FromResult(Snapshot().Last(s => s.Kind == ActivityKind.Server && s.DisplayName.Contains("readings"))),
            what: "the reading request's span");
        var trace = await Eventually.Get(() => Task.FromResult(Snapshot().Where(s => s.TraceId == request.TraceId).ToList()),
            spans => spans.Any(s => s.DisplayName.StartsWith("outbox publish ReadingAccepted"))
                     && spans.Any(s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer),
            what: "the outbox publish and the consumer's span in the request's trace");

        Assert.Contains(trace, s => s.DisplayName.StartsWith("outbox publish ReadingAccepted"));
        Assert.Contains(trace, s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer);
    }

    // The exporter appends from its own thread; a copy taken during an append is simply taken again.
    private List<Activity> Snapshot()
    {
        for (var attempt = 0; ; attempt++)
        {
            try { return [.. _spans]; }
            catch (InvalidOperationException) when (attempt < 10) { }
        }
    }
}
