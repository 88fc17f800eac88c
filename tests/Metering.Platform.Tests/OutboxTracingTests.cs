using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Metering.Hosting.Messaging;
using Metering.Testing;

namespace Metering.Platform.Tests;

public sealed class OutboxTracingTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public OutboxTracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Metering" or "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => _stopped.Enqueue(activity),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task The_outbox_row_carries_the_request_traceparent_and_the_relay_publish_continues_that_trace()
    {
        await using var host = await PlatformHost.StartAsync(_folder.File("platform.db"), new PlatformHostOptions
        {
            Consumers = bus => bus.AddServiceConsumer<WidgetCreatedWitness>("platform"),
        });

        OutboxMessage row;
        using (var request = new Activity("test request").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            row = await host.CreateWidgetAsync("traced");
            Assert.Equal(request.Id, row.TraceParent);
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", row.TraceParent);
        }
        var (traceId, requestSpan) = (ActivityContext.Parse(row.TraceParent!, null).TraceId, ActivityContext.Parse(row.TraceParent!, null).SpanId);

        await Eventually.Get(() => Task.FromResult(host.Probe.Consumed<WidgetCreated>()), c => c.Count > 0, TimeSpan.FromSeconds(10), "the event");
        var trace = await Eventually.Get(() => Task.FromResult(_stopped.Where(a => a.TraceId == traceId).ToList()),
            spans => spans.Any(a => a.Source.Name == "MassTransit" && a.Kind == ActivityKind.Consumer), TimeSpan.FromSeconds(10),
            "the consumer's span in the request's trace");

        var relayed = Assert.Single(trace, a => a.Source.Name == "Metering" && a.OperationName.StartsWith("outbox publish", StringComparison.Ordinal));
        Assert.Equal(requestSpan, relayed.ParentSpanId);
        Assert.Equal(ActivityKind.Producer, relayed.Kind);
        Assert.Equal(row.MessageId.ToString(), relayed.GetTagItem("messaging.message.id")?.ToString());
        // MassTransit's own send span hangs under the relay's, and the consumer continues the same trace.
        Assert.Contains(trace, a => a.Source.Name == "MassTransit" && a.Kind == ActivityKind.Producer && a.ParentSpanId == relayed.SpanId);
        Assert.Equal(traceId, Assert.Single(host.Probe.Published<WidgetCreated>()).TraceId);
    }

    [Fact]
    public async Task A_row_written_outside_any_trace_is_still_published()
    {
        await using var host = await PlatformHost.StartAsync(_folder.File("platform.db"));
        Activity.Current = null;

        var row = await host.CreateWidgetAsync("untraced");

        Assert.Null(row.TraceParent);
        var published = await Eventually.Get(() => Task.FromResult(host.Probe.Published<WidgetCreated>()), p => p.Count > 0, TimeSpan.FromSeconds(10), "the event");
        Assert.Equal(row.MessageId, Assert.Single(published).MessageId);
    }
}
