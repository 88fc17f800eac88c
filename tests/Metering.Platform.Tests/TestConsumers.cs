using System.Collections.Concurrent;
using MassTransit;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Metering.Platform.Tests;

/// <summary>What each consumer saw at the start of each attempt, so a test can tell what a failed attempt left behind.</summary>
public sealed class ConsumerLog
{
    private readonly ConcurrentDictionary<(string Consumer, string Key), int> _attempts = new();

    public ConcurrentQueue<Attempt> Attempts { get; } = new();

    public sealed record Attempt(string Consumer, string Key, int Number, int EffectsBefore, int InboxRowsBefore, int OutboxRowsBefore);

    public int Next(string consumer, string key) => _attempts.AddOrUpdate((consumer, key), 1, (_, n) => n + 1);

    public IReadOnlyList<Attempt> Of(string consumer, string key) =>
        Attempts.Where(a => a.Consumer == consumer && a.Key == key).OrderBy(a => a.Number).ToList();
}

/// <summary>
/// The effect every inbox test counts: an Effect row and, through the outbox, a follow-up event, both in
/// the consumer's transaction. On a failing attempt the changes are even saved before the throw, so only
/// the rollback can take them away.
/// </summary>
internal static class PokeEffect
{
    public static async Task ApplyAsync(TestDb db, ConsumerLog log, string consumer, Poke message, CancellationToken cancellationToken)
    {
        var attempt = log.Next(consumer, message.Key);
        log.Attempts.Enqueue(new ConsumerLog.Attempt(consumer, message.Key, attempt,
            await db.Effects.CountAsync(e => e.Key == message.Key && e.Consumer == consumer, cancellationToken),
            await db.ProcessedMessages.CountAsync(p => p.Consumer == consumer, cancellationToken),
            await db.OutboxMessages.CountAsync(cancellationToken)));

        db.Effects.Add(new Effect { Key = message.Key, Consumer = consumer });
        db.Publish(new WidgetCreated($"{consumer}:{message.Key}", attempt));
        if (message.HandleDelayMs > 0)
            await Task.Delay(message.HandleDelayMs, cancellationToken);
        if (attempt <= message.FailAttempts)
        {
            await db.SaveChangesAsync(cancellationToken);
            throw new InvalidOperationException($"{consumer} failed on attempt {attempt} (simulated)");
        }
    }
}

public sealed class PokeConsumer(TestDb db, ConsumerLog log) : IdempotentConsumer<TestDb, Poke>(db)
{
    protected override Task HandleAsync(Poke message, CancellationToken cancellationToken) =>
        PokeEffect.ApplyAsync(Db, log, ConsumerName, message, cancellationToken);
}

/// <summary>A second consumer of the same message in the same service, with its own inbox key.</summary>
public sealed class OtherPokeConsumer(TestDb db, ConsumerLog log) : IdempotentConsumer<TestDb, Poke>(db)
{
    protected override Task HandleAsync(Poke message, CancellationToken cancellationToken) =>
        PokeEffect.ApplyAsync(Db, log, ConsumerName, message, cancellationToken);
}

/// <summary>Records every WidgetCreated it receives (not idempotent on purpose: it counts deliveries).</summary>
public sealed class WidgetCreatedWitness(ConsumerLog log) : IConsumer<WidgetCreated>
{
    public Task Consume(ConsumeContext<WidgetCreated> context)
    {
        log.Attempts.Enqueue(new ConsumerLog.Attempt(nameof(WidgetCreatedWitness), context.Message.Name,
            context.Message.Sequence, 0, 0, 0));
        return Task.CompletedTask;
    }
}

public sealed class WidgetWorkConsumer(ConsumerLog log) : IConsumer<WidgetWork>
{
    public Task Consume(ConsumeContext<WidgetWork> context)
    {
        log.Attempts.Enqueue(new ConsumerLog.Attempt(nameof(WidgetWorkConsumer), context.Message.Name, 1, 0, 0, 0));
        return Task.CompletedTask;
    }
}
