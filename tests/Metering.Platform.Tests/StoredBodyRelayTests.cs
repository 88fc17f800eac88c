using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;
using Metering.Billing.Events;
using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Metering.Platform.Tests;

/// <summary>
/// The relay publishes an outbox row's stored JSON body as it is, inside MassTransit's envelope, instead of
/// deserialising it and letting MassTransit serialise it again. Consumers must not see any difference.
/// </summary>
public sealed class StoredBodyRelayTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly TempFolder _folder = new();
    private readonly ActivityListener _listener;

    public StoredBodyRelayTests()
    {
        // The consumer's trace is only there when someone listens, as in production with OpenTelemetry.
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Metering" or "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _folder.Dispose();
    }

    private static readonly SplicedSample Sample = new(
        "张三 (过户: 李四)",
        1_234_567.89m,
        0.1m,
        new DateOnly(2026, 2, 28),
        new DateTime(2026, 3, 1, 8, 30, 15, 123, DateTimeKind.Utc),
        new DateTimeOffset(2026, 3, 1, 16, 30, 15, TimeSpan.FromHours(8)),
        SampleKind.Estimated,
        null,
        [new SampleLine(Guid.NewGuid(), 99.99m, "水费"), new SampleLine(Guid.NewGuid(), -0.01m, "污水处理费 \"quoted\" \\ / \n")]);

    public static TheoryData<Type> OutboxMessageTypes()
    {
        var data = new TheoryData<Type>();
        foreach (var type in typeof(AccountOpened).Assembly.GetExportedTypes()
                     .Where(t => t.Namespace == typeof(AccountOpened).Namespace && t is { IsClass: true, IsAbstract: false })
                     .Append(typeof(BillingRunChunkWork))
                     .Append(typeof(SplicedSample))
                     .OrderBy(t => t.Name))
            data.Add(type);
        return data;
    }

    [Theory]
    [MemberData(nameof(OutboxMessageTypes))]
    public void A_body_stored_with_the_outbox_options_reads_back_with_MassTransit_options_as_the_message_itself(Type type)
    {
        var message = type == typeof(SplicedSample) ? Sample : ContractEventsTests.Sample.Of(type);

        var stored = JsonSerializer.Serialize(message, type, Outbox.Json);
        var asConsumed = JsonSerializer.Deserialize(stored, type, SystemTextJsonMessageSerializer.Options);
        // What MassTransit's own serializer would have delivered: the message written and read with its options.
        var asBefore = JsonSerializer.Deserialize(JsonSerializer.Serialize(message, type, SystemTextJsonMessageSerializer.Options),
            type, SystemTextJsonMessageSerializer.Options);

        Assert.Equal(JsonSerializer.Serialize(message, type), JsonSerializer.Serialize(asConsumed, type));
        Assert.Equal(JsonSerializer.Serialize(asBefore, type), JsonSerializer.Serialize(asConsumed, type));
        Assert.False(RelayMessages.ReadByMassTransit(type), $"{type.Name} would be published deserialised");
    }

    [Fact]
    public async Task A_stored_body_arrives_at_a_consumer_with_equal_content_its_message_id_and_trace_and_a_republish_has_no_effect()
    {
        await using var host = await PlatformHost.StartAsync(_folder.File("platform.db"), new PlatformHostOptions
        {
            Consumers = bus => bus.AddServiceConsumer<SplicedSampleConsumer>("platform"),
        });
        var witness = host.Services.GetRequiredService<SampleWitness>();

        OutboxMessage row;
        using (new Activity("test request").SetIdFormat(ActivityIdFormat.W3C).Start())
            row = await host.InDbAsync(async db =>
            {
                var queued = db.Publish(Sample);
                await db.SaveChangesAsync();
                return queued;
            });

        var delivered = await Eventually.Get(() => Task.FromResult(host.Probe.Consumed<SplicedSample>()), c => c.Count > 0, Deadline, "the sample");
        Assert.Equal(row.MessageId, Assert.Single(delivered).MessageId);
        var seen = Assert.Single(witness.Seen);
        Assert.Equal(JsonSerializer.Serialize(Sample), JsonSerializer.Serialize(seen.Message));
        Assert.Equal(Sample.AmountYuan, seen.Message.AmountYuan);
        Assert.Equal("张三 (过户: 李四)", seen.Message.HolderName);
        Assert.Equal(ActivityContext.Parse(row.TraceParent!, null).TraceId, seen.TraceId);
        Assert.Equal(row.MessageId, (await host.InDbAsync(db => db.ProcessedMessages.SingleAsync())).MessageId);

        // A relay that published but died before marking: the row goes out again, with the same message id.
        await host.InDbAsync(db => db.OutboxMessages.Where(m => m.Id == row.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.SentAt, (DateTime?)null)));
        await host.Relay.PublishPendingAsync(CancellationToken.None);

        await Eventually.Get(() => Task.FromResult(host.Probe.Consumed<SplicedSample>().Count(c => c.MessageId == row.MessageId && !c.Faulted)),
            n => n == 2, Deadline, "the second delivery");
        Assert.Single(witness.Seen);
        Assert.Equal((1, 1), await host.InDbAsync(async db => (
            await db.Effects.CountAsync(e => e.Key == "sample"),
            await db.ProcessedMessages.CountAsync(p => p.MessageId == row.MessageId))));
    }

    [Fact]
    public async Task A_row_sent_to_a_queue_arrives_with_its_content_and_message_id()
    {
        await using var host = await PlatformHost.StartAsync(_folder.File("platform.db"), new PlatformHostOptions
        {
            Consumers = bus => bus.AddServiceConsumer<SplicedSampleConsumer>("platform"),
        });
        var witness = host.Services.GetRequiredService<SampleWitness>();

        var row = await host.InDbAsync(async db =>
        {
            var queued = db.Send(Sample, "platform");
            await db.SaveChangesAsync();
            return queued;
        });

        var delivered = await Eventually.Get(() => Task.FromResult(host.Probe.Consumed<SplicedSample>()), c => c.Count > 0, Deadline, "the sample");
        Assert.Equal(row.MessageId, Assert.Single(delivered).MessageId);
        Assert.Equal(JsonSerializer.Serialize(Sample), JsonSerializer.Serialize(Assert.Single(witness.Seen).Message));
    }

    [Fact]
    public async Task A_message_whose_correlation_id_MassTransit_reads_is_published_with_it()
    {
        Assert.True(RelayMessages.ReadByMassTransit(typeof(CorrelatedSample)));
        await using var host = await PlatformHost.StartAsync(_folder.File("platform.db"), new PlatformHostOptions
        {
            Consumers = bus => bus.AddServiceConsumer<CorrelatedSampleConsumer>("platform"),
        });
        var witness = host.Services.GetRequiredService<SampleWitness>();
        var correlation = Guid.NewGuid();

        await host.InDbAsync(async db =>
        {
            db.Publish(new CorrelatedSample(correlation, "关联"));
            await db.SaveChangesAsync();
        });

        var seen = await Eventually.Get(() => Task.FromResult(witness.Correlated.ToList()), s => s.Count > 0, Deadline, "the correlated sample");
        Assert.Equal((correlation, new CorrelatedSample(correlation, "关联")), Assert.Single(seen));
    }

    [Fact]
    public async Task A_damaged_body_fails_before_its_publish_starts_and_holds_back_the_rows_after_it()
    {
        await using var host = await PlatformHost.StartAsync(_folder.File("platform.db"), new PlatformHostOptions { RelayEnabled = false });
        var (damaged, after) = await host.InDbAsync(async db =>
        {
            var first = db.Publish(new WidgetCreated("damaged", 1));
            first.Body = "{\"Name\":\"damaged\",";
            var second = db.Publish(new WidgetCreated("after", 2));
            await db.SaveChangesAsync();
            return (first, second);
        });

        await Assert.ThrowsAnyAsync<Exception>(() => host.Relay.PublishPendingAsync(CancellationToken.None));

        var stored = await host.OutboxRowAsync(damaged.Id);
        Assert.Null(stored.SentAt);
        Assert.Equal(1, stored.Attempts);
        Assert.NotNull(stored.LastError);
        Assert.Null((await host.OutboxRowAsync(after.Id)).SentAt);
        Assert.Empty(host.Probe.Published<WidgetCreated>());
    }
}

public enum SampleKind
{
    Actual,
    Estimated,
}

/// <summary>What the contracts hold and more: money as decimal, Chinese text, enums, nulls, nested lists, both kinds of instant.</summary>
public sealed record SplicedSample(
    string HolderName,
    decimal AmountYuan,
    decimal SmallAmountYuan,
    DateOnly PeriodEnd,
    DateTime IssuedAtUtc,
    DateTimeOffset OccurredAt,
    SampleKind Kind,
    int? NotGiven,
    IReadOnlyList<SampleLine> Lines);

public sealed record SampleLine(Guid BillId, decimal AmountYuan, string Item);

/// <summary>MassTransit takes the correlation id from a property of this name, so the relay must publish the real message.</summary>
public sealed record CorrelatedSample(Guid CorrelationId, string Name);

/// <summary>What the sample consumers saw, with the envelope's parts that matter.</summary>
public sealed class SampleWitness
{
    public sealed record Delivery(SplicedSample Message, ActivityTraceId? TraceId);

    public ConcurrentQueue<Delivery> Seen { get; } = new();

    public ConcurrentQueue<(Guid? CorrelationId, CorrelatedSample Message)> Correlated { get; } = new();
}

/// <summary>An idempotent consumer like the services' own: its effect and inbox record in one transaction.</summary>
public sealed class SplicedSampleConsumer(TestDb db, SampleWitness witness) : IdempotentConsumer<TestDb, SplicedSample>(db)
{
    protected override Task HandleAsync(SplicedSample message, CancellationToken cancellationToken)
    {
        witness.Seen.Enqueue(new SampleWitness.Delivery(message, Activity.Current?.TraceId));
        Db.Effects.Add(new Effect { Key = "sample", Consumer = nameof(SplicedSampleConsumer) });
        return Task.CompletedTask;
    }
}

public sealed class CorrelatedSampleConsumer(SampleWitness witness) : IConsumer<CorrelatedSample>
{
    public Task Consume(ConsumeContext<CorrelatedSample> context)
    {
        witness.Correlated.Enqueue((context.CorrelationId, context.Message));
        return Task.CompletedTask;
    }
}
