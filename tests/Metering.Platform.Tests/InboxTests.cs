using System.Text.Json;
using MassTransit;
using Metering.Hosting.Messaging;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;

namespace Metering.Platform.Tests;

public sealed class InboxTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Task<PlatformHost> StartAsync(params Action<IBusRegistrationConfigurator>[] consumers) =>
        PlatformHost.StartAsync(_folder.File("platform.db"), new PlatformHostOptions
        {
            Consumers = bus =>
            {
                foreach (var add in consumers)
                    add(bus);
            },
        });

    private static Task PublishAsync(PlatformHost host, Poke message, Guid messageId) =>
        host.Bus.Publish(message, context => context.MessageId = messageId);

    private static Task<IReadOnlyList<BusProbe.Incoming>> DeliveriesAsync(PlatformHost host, Guid messageId, int count) =>
        Eventually.Get(
            () => Task.FromResult<IReadOnlyList<BusProbe.Incoming>>(
                host.Probe.Consumed<Poke>().Where(c => c.MessageId == messageId && !c.Faulted).ToList()),
            c => c.Count >= count, Deadline, $"{count} successful deliveries of {messageId}");

    private static Task<(int Effects, int InboxRows, int Events)> StateAsync(PlatformHost host, string key, string consumer) =>
        host.InDbAsync(async db => (
            await db.Effects.CountAsync(e => e.Key == key && e.Consumer == consumer),
            await db.ProcessedMessages.CountAsync(p => p.Consumer == consumer),
            (await db.OutboxMessages.Where(m => m.MessageType.Contains(nameof(WidgetCreated))).Select(m => m.Body).ToListAsync())
                .Count(body => JsonSerializer.Deserialize<WidgetCreated>(body)!.Name == $"{consumer}:{key}")));

    [Fact]
    public async Task A_message_delivered_twice_has_one_effect()
    {
        await using var host = await StartAsync(bus => bus.AddServiceConsumer<PokeConsumer>("platform"));
        var messageId = NewId.NextGuid();

        await PublishAsync(host, new Poke("twice"), messageId);
        await DeliveriesAsync(host, messageId, 1);
        await PublishAsync(host, new Poke("twice"), messageId);
        await DeliveriesAsync(host, messageId, 2);

        Assert.Equal((1, 1, 1), await StateAsync(host, "twice", nameof(PokeConsumer)));
        Assert.Single(host.Log.Of(nameof(PokeConsumer), "twice"));
        var inbox = await host.InDbAsync(db => db.ProcessedMessages.SingleAsync());
        Assert.Equal((messageId, nameof(PokeConsumer)), (inbox.MessageId, inbox.Consumer));
    }

    [Fact]
    public async Task The_same_content_under_another_message_id_is_a_new_message()
    {
        await using var host = await StartAsync(bus => bus.AddServiceConsumer<PokeConsumer>("platform"));
        var first = NewId.NextGuid();
        var second = NewId.NextGuid();

        await PublishAsync(host, new Poke("same"), first);
        await DeliveriesAsync(host, first, 1);
        await PublishAsync(host, new Poke("same"), second);
        await DeliveriesAsync(host, second, 1);

        Assert.Equal((2, 2, 2), await StateAsync(host, "same", nameof(PokeConsumer)));
    }

    [Fact]
    public async Task An_event_the_relay_sends_again_after_a_crash_before_marking_it_has_one_effect()
    {
        await using var host = await PlatformHost.StartAsync(_folder.File("platform.db"), new PlatformHostOptions
        {
            RelayEnabled = false,
            Consumers = bus => bus.AddServiceConsumer<PokeConsumer>("platform"),
        });
        var row = await host.InDbAsync(async db =>
        {
            var queued = db.Publish(new Poke("resent"));
            await db.SaveChangesAsync();
            return queued;
        });
        Assert.Equal(1, await host.Relay.PublishPendingAsync(CancellationToken.None));
        await DeliveriesAsync(host, row.MessageId, 1);

        // The relay published but died before marking the row: the next relay publishes it again, same id.
        await host.InDbAsync(db => db.OutboxMessages.Where(m => m.Id == row.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.SentAt, (DateTime?)null)));
        await host.Relay.PublishPendingAsync(CancellationToken.None);
        await DeliveriesAsync(host, row.MessageId, 2);

        Assert.Equal([row.MessageId, row.MessageId], host.Probe.Published<Poke>().Select(p => p.MessageId!.Value));

        Assert.Equal((1, 1, 1), await StateAsync(host, "resent", nameof(PokeConsumer)));
    }

    [Fact]
    public async Task Two_copies_delivered_concurrently_have_one_effect()
    {
        // The service's queue, with room for two deliveries at once whatever the number of cores.
        await using var host = await StartAsync(bus => bus.AddConsumer<PokeConsumer>().Endpoint(e =>
        {
            e.Name = "platform";
            e.ConcurrentMessageLimit = 4;
        }));
        var messageId = NewId.NextGuid();
        var message = new Poke("concurrent", HandleDelayMs: 300);

        await Task.WhenAll(PublishAsync(host, message, messageId), PublishAsync(host, message, messageId));
        await DeliveriesAsync(host, messageId, 2);

        Assert.Equal(2, host.Probe.MaxConcurrentDeliveries);
        Assert.Equal((1, 1, 1), await StateAsync(host, "concurrent", nameof(PokeConsumer)));
    }

    [Fact]
    public async Task A_consumer_that_throws_leaves_no_inbox_record_and_no_effect_and_succeeds_on_retry()
    {
        await using var host = await StartAsync(bus => bus.AddServiceConsumer<PokeConsumer>("platform"));
        var messageId = NewId.NextGuid();

        await PublishAsync(host, new Poke("fragile", FailAttempts: 2), messageId);
        await DeliveriesAsync(host, messageId, 1);

        var attempts = host.Log.Of(nameof(PokeConsumer), "fragile");
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Number));
        // What each retry found: nothing of the failed attempts, though they had saved their changes.
        Assert.All(attempts, a => Assert.Equal((0, 0, 0), (a.EffectsBefore, a.InboxRowsBefore, a.OutboxRowsBefore)));
        Assert.Equal((1, 1, 1), await StateAsync(host, "fragile", nameof(PokeConsumer)));
    }

    [Fact]
    public async Task Different_consumers_of_the_same_message_each_have_their_effect_once()
    {
        await using var host = await StartAsync(
            bus => bus.AddServiceConsumer<PokeConsumer>("platform"),
            bus => bus.AddServiceConsumer<OtherPokeConsumer>("platform"));
        var messageId = NewId.NextGuid();

        await PublishAsync(host, new Poke("shared"), messageId);
        await Eventually.Get(() => StateAsync(host, "shared", nameof(OtherPokeConsumer)), s => s.Effects > 0, Deadline, "the second consumer's effect");
        await Eventually.Get(() => StateAsync(host, "shared", nameof(PokeConsumer)), s => s.Effects > 0, Deadline, "the first consumer's effect");
        await PublishAsync(host, new Poke("shared"), messageId);
        await DeliveriesAsync(host, messageId, 2);

        Assert.Equal((1, 1, 1), await StateAsync(host, "shared", nameof(PokeConsumer)));
        Assert.Equal((1, 1, 1), await StateAsync(host, "shared", nameof(OtherPokeConsumer)));
        var inbox = await host.InDbAsync(db => db.ProcessedMessages.OrderBy(p => p.Consumer).ToListAsync());
        Assert.Equal([nameof(OtherPokeConsumer), nameof(PokeConsumer)], inbox.Select(p => p.Consumer));
        Assert.All(inbox, p => Assert.Equal(messageId, p.MessageId));
    }

    [Fact]
    public async Task Different_consumers_that_each_fail_once_each_have_their_effect_once()
    {
        await using var host = await StartAsync(
            bus => bus.AddServiceConsumer<PokeConsumer>("platform"),
            bus => bus.AddServiceConsumer<OtherPokeConsumer>("platform"));
        var messageId = NewId.NextGuid();

        await PublishAsync(host, new Poke("both-fragile", FailAttempts: 1), messageId);
        await Eventually.Get(async () => (await StateAsync(host, "both-fragile", nameof(PokeConsumer))).Effects
                                       + (await StateAsync(host, "both-fragile", nameof(OtherPokeConsumer))).Effects,
            n => n == 2, Deadline, "both effects");
        await DeliveriesAsync(host, messageId, 1);

        Assert.Equal((1, 1, 1), await StateAsync(host, "both-fragile", nameof(PokeConsumer)));
        Assert.Equal((1, 1, 1), await StateAsync(host, "both-fragile", nameof(OtherPokeConsumer)));
    }
}
