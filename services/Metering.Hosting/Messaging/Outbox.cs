using System.Diagnostics;
using System.Text.Json;
using MassTransit;

namespace Metering.Hosting.Messaging;

/// <summary>
/// Writing events: add them to the DbContext next to the change that causes them; the same
/// SaveChanges (or the surrounding transaction) commits both, and the relay publishes after commit.
/// </summary>
public static class Outbox
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    /// <summary>Queues <paramref name="message"/> for publishing to every subscriber.</summary>
    public static OutboxMessage Publish<T>(this MessagingDbContext db, T message) where T : class =>
        Add(db, message, destination: null);

    /// <summary>Queues <paramref name="message"/> for one queue (a work item, not an event).</summary>
    public static OutboxMessage Send<T>(this MessagingDbContext db, T message, string queueName) where T : class =>
        Add(db, message, destination: $"queue:{queueName}");

    private static OutboxMessage Add<T>(MessagingDbContext db, T message, string? destination) where T : class
    {
        var type = message.GetType();
        var row = new OutboxMessage
        {
            MessageId = NewId.NextGuid(),
            MessageType = TypeName(type),
            Body = JsonSerializer.Serialize(message, type, Json),
            Destination = destination,
            TraceParent = Activity.Current?.Id,
            CreatedAt = DateTime.UtcNow,
        };
        db.OutboxMessages.Add(row);
        return row;
    }

    // Assembly.GetName() builds a new AssemblyName on every call; bulk work publishes thousands of events.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, string> TypeNames = new();

    internal static string TypeName(Type type) =>
        TypeNames.GetOrAdd(type, static t => $"{t.FullName}, {t.Assembly.GetName().Name}");
}
