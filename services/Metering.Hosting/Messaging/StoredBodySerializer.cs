using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Mime;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Serialization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MassTransit;
using MassTransit.Serialization;

namespace Metering.Hosting.Messaging;

/// <summary>
/// Serialises one relay publish into MassTransit's standard JSON envelope (<c>application/vnd.masstransit+json</c>),
/// with the outbox row's stored body spliced in as <c>message</c> instead of a re-serialised object. Everything
/// else in the envelope (message id, conversation, addresses, message types, headers with the trace, host) is what
/// MassTransit's own serializer writes, taken from the same send context, so consumers see no difference.
/// Set on the send context of that one publish; the bus's serializer stays MassTransit's for everything else.
/// </summary>
/// <remarks>
/// The stored body was written with <see cref="Outbox.Json"/> (PascalCase, numbers as numbers, ISO dates);
/// MassTransit reads messages case-insensitively with the same System.Text.Json converters for those types, so the
/// consumer gets the same object as from a MassTransit-serialised body (the platform tests prove it for every event).
/// </remarks>
internal sealed class StoredBodySerializer : IMessageSerializer
{
    /// <summary>MassTransit's options, compact, with the stored body written as it is.</summary>
    private static readonly JsonSerializerOptions EnvelopeOptions = CreateOptions();

    private readonly StoredJson _body;

    private StoredBodySerializer(string body) => _body = new StoredJson(body);

    /// <summary>
    /// Checks that a row's body is one JSON object, so that a damaged row fails here, before its publish starts, as it
    /// did when the relay deserialised it (and holds back the rows after it, as documented).
    /// </summary>
    public static StoredBodySerializer For(OutboxMessage row)
    {
        // The UTF-8 copy is only for the check: pooled, because a bulk load's bodies (~250 KB) would each be a
        // large-object allocation, and large objects are what brings on the full collections.
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(row.Body.Length));
        try
        {
            var reader = new Utf8JsonReader(buffer.AsSpan(0, Encoding.UTF8.GetBytes(row.Body, buffer)));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new InvalidOperationException($"outbox row {row.Id} has no JSON object as its body");
            // Reads to the end: throws on a damaged or cut-off body, and on anything after the object.
            while (reader.Read())
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return new StoredBodySerializer(row.Body);
    }

    public ContentType ContentType => SystemTextJsonMessageSerializer.JsonContentType;

    public MessageBody GetMessageBody<T>(SendContext<T> context) where T : class =>
        new EnvelopeBody(new JsonMessageEnvelope(context, _body));

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(SystemTextJsonMessageSerializer.Options)
        {
            WriteIndented = false,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        options.Converters.Insert(0, new StoredJsonConverter());
        options.MakeReadOnly();
        return options;
    }

    /// <summary>The envelope is written once, when the transport first asks for the body.</summary>
    private sealed class EnvelopeBody(JsonMessageEnvelope envelope) : MessageBody
    {
        private byte[]? _bytes;

        public long? Length => _bytes?.Length;

        public Stream GetStream() => new MemoryStream(GetBytes(), writable: false);

        public byte[] GetBytes()
        {
            if (_bytes is not null)
                return _bytes;
            try
            {
                return _bytes = JsonSerializer.SerializeToUtf8Bytes(envelope, EnvelopeOptions);
            }
            catch (Exception ex)
            {
                throw new SerializationException("Failed to serialize the outbox row's message", ex);
            }
        }

        public string GetString() => Encoding.UTF8.GetString(GetBytes());
    }

    /// <summary>A message body already in JSON, checked by <see cref="For"/>.</summary>
    private sealed class StoredJson(string json)
    {
        public string Json => json;
    }

    private sealed class StoredJsonConverter : JsonConverter<StoredJson>
    {
        public override StoredJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("stored JSON is only written");

        public override void Write(Utf8JsonWriter writer, StoredJson value, JsonSerializerOptions options) =>
            writer.WriteRawValue(value.Json, skipInputValidation: true);
    }
}

/// <summary>
/// What the relay hands to <c>Publish(object, Type)</c> when the body goes out as stored: MassTransit needs an
/// object of the message type for its typed pipeline, but with <see cref="StoredBodySerializer"/> nothing reads its
/// fields, except the correlation conventions. Types those apply to get the real, deserialised message.
/// </summary>
internal static class RelayMessages
{
    private static readonly ConcurrentDictionary<Type, object?> Placeholders = new();

    /// <summary>An empty instance of <paramref name="type"/>, shared; null when MassTransit would read the message.</summary>
    public static object? Placeholder(Type type) =>
        Placeholders.GetOrAdd(type, static t => ReadByMassTransit(t) ? null : RuntimeHelpers.GetUninitializedObject(t));

    /// <summary>
    /// MassTransit's default conventions set the correlation id from <c>CorrelatedBy&lt;Guid&gt;</c> or from a Guid
    /// property named CorrelationId, CommandId or EventId: such a message must be the real one.
    /// </summary>
    internal static bool ReadByMassTransit(Type type) =>
        type.IsAbstract || type.IsInterface || type.IsValueType
        || typeof(CorrelatedBy<Guid>).IsAssignableFrom(type)
        || type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Any(p =>
            p.Name is "CorrelationId" or "CommandId" or "EventId"
            && (p.PropertyType == typeof(Guid) || p.PropertyType == typeof(Guid?)));
}
