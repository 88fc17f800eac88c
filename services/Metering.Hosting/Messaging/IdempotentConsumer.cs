using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Metering.Hosting.Messaging;

/// <summary>
/// A consumer whose effect happens once per message id: the inbox record is written in the same
/// transaction as the effect (and any events the effect publishes through the outbox). A redelivery
/// finds the record and does nothing; two copies racing collide on the inbox key and the loser retries.
/// </summary>
public abstract class IdempotentConsumer<TContext, TMessage>(TContext db) : IConsumer<TMessage>
    where TContext : MessagingDbContext
    where TMessage : class
{
    protected TContext Db => db;

    /// <summary>Inbox key: stable across releases, so rename a consumer class only with care.</summary>
    protected virtual string ConsumerName => GetType().Name;

    public async Task Consume(ConsumeContext<TMessage> context)
    {
        var messageId = context.MessageId
            ?? throw new InvalidOperationException($"{typeof(TMessage).Name} arrived without a message id");
        var cancellationToken = context.CancellationToken;
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var seen = await db.ProcessedMessages
                .AnyAsync(m => m.MessageId == messageId && m.Consumer == ConsumerName, cancellationToken);
            if (seen)
                return;

            await HandleAsync(context.Message, cancellationToken);
            db.ProcessedMessages.Add(new ProcessedMessage
            {
                MessageId = messageId,
                Consumer = ConsumerName,
                ProcessedAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch
        {
            // A retry must start from the database, not from this attempt's half-made changes.
            db.ChangeTracker.Clear();
            throw;
        }
    }

    /// <summary>The effect of the message: change tracked entities and queue events; do not commit.</summary>
    protected abstract Task HandleAsync(TMessage message, CancellationToken cancellationToken);
}
