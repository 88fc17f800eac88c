using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using MassTransit.Serialization;
using Metering.Hosting.Messaging;

namespace Metering.Platform.Tests;

/// <summary>
/// Watches one host's bus: what was published or sent (in order, with message id and trace), what was
/// consumed, and how many deliveries overlapped. It can also make the next publishes fail, as a broker
/// that is down would.
/// </summary>
public sealed class BusProbe : IPublishObserver, ISendObserver, IConsumeObserver
{
    private readonly ConcurrentQueue<Outgoing> _outgoing = new();
    private readonly ConcurrentQueue<Incoming> _consumed = new();
    private int _failures;
    private Func<object, bool> _failWhen = _ => true;
    private int _inFlight;
    private int _maxInFlight;
    private int _early;

    public sealed record Outgoing(Guid? MessageId, object Message, string Kind, ActivityTraceId? TraceId);

    public sealed record Incoming(Guid? MessageId, object Message, bool Faulted);

    public int MaxConcurrentDeliveries => Volatile.Read(ref _maxInFlight);

    /// <summary>Tells whether the bus had started when a message was published (set by the host).</summary>
    public Func<bool>? BusStarted { get; set; }

    public int PublishesBeforeBusStarted => Volatile.Read(ref _early);

    /// <summary>The next <paramref name="count"/> publishes or sends (of messages matching <paramref name="when"/>) throw.</summary>
    public void FailNext(int count, Func<object, bool>? when = null, TimeSpan? after = null)
    {
        _failWhen = when ?? (_ => true);
        _failAfter = after;
        Interlocked.Exchange(ref _failures, count);
    }

    private TimeSpan? _failAfter;
    private TimeSpan? _publishDelay;

    /// <summary>Every publish from now on takes this long (a slow broker).</summary>
    public void DelayPublishes(TimeSpan delay) => _publishDelay = delay;

    public IReadOnlyList<Outgoing> All => _outgoing.ToList();

    public IReadOnlyList<Outgoing> Published<T>() => _outgoing.Where(o => o.Kind == "publish" && o.Message is T).ToList();

    public IReadOnlyList<Outgoing> Sent<T>() => _outgoing.Where(o => o.Kind == "send" && o.Message is T).ToList();

    public IReadOnlyList<Incoming> Consumed<T>() => _consumed.Where(c => c.Message is T).ToList();

    private void MaybeFail<T>(SendContext<T> context) where T : class
    {
        if (Volatile.Read(ref _failures) <= 0 || !_failWhen(OnTheWire(context)))
            return;
        while (true)
        {
            var left = Volatile.Read(ref _failures);
            if (left <= 0)
                return;
            if (Interlocked.CompareExchange(ref _failures, left - 1, left) == left)
                throw new InvalidOperationException("broker unreachable (simulated)");
        }
    }

    Task IPublishObserver.PrePublish<T>(PublishContext<T> context)
    {
        if (BusStarted is { } started && !started())
            Interlocked.Increment(ref _early);
        if (_publishDelay is { } delay)
            return Task.Delay(delay);
        if (_failAfter is { } after)
            return FailLaterAsync(context, after);
        MaybeFail(context);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The message as consumers will get it. The relay hands MassTransit an empty placeholder and puts the row's
    /// stored body in the envelope, so that body is read back with MassTransit's own deserializer, as a consumer does.
    /// </summary>
    public static T OnTheWire<T>(SendContext<T> context) where T : class
    {
        if (context.Serializer is not StoredBodySerializer serializer)
            return context.Message;
        var body = serializer.GetMessageBody(context);
        var received = SystemTextJsonMessageSerializer.Instance.Deserialize(body, context.Headers, context.DestinationAddress);
        return received.TryGetMessage<T>(out var message) && message is not null
            ? message
            : throw new InvalidOperationException($"the relay's envelope holds no {typeof(T).Name}: {body.GetString()}");
    }

    /// <summary>A broker that refuses a message only after a while (a confirm that comes back negative).</summary>
    private async Task FailLaterAsync<T>(SendContext<T> context, TimeSpan after) where T : class
    {
        if (Volatile.Read(ref _failures) <= 0 || !_failWhen(OnTheWire(context)))
            return;
        await Task.Delay(after);
        MaybeFail(context);
    }

    Task IPublishObserver.PostPublish<T>(PublishContext<T> context)
    {
        _outgoing.Enqueue(new Outgoing(context.MessageId, OnTheWire(context), "publish", Activity.Current?.TraceId));
        return Task.CompletedTask;
    }

    Task IPublishObserver.PublishFault<T>(PublishContext<T> context, Exception exception) => Task.CompletedTask;

    Task ISendObserver.PreSend<T>(SendContext<T> context)
    {
        // Publishing also sends (to the message type's exchange); only explicit sends to a queue are ours.
        if (context.DestinationAddress?.AbsolutePath.Contains("platform", StringComparison.Ordinal) == true)
            MaybeFail(context);
        return Task.CompletedTask;
    }

    Task ISendObserver.PostSend<T>(SendContext<T> context)
    {
        if (context.DestinationAddress?.AbsolutePath.Contains("platform", StringComparison.Ordinal) == true)
            _outgoing.Enqueue(new Outgoing(context.MessageId, OnTheWire(context), "send", Activity.Current?.TraceId));
        return Task.CompletedTask;
    }

    Task ISendObserver.SendFault<T>(SendContext<T> context, Exception exception) => Task.CompletedTask;

    Task IConsumeObserver.PreConsume<T>(ConsumeContext<T> context)
    {
        var now = Interlocked.Increment(ref _inFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
        {
        }
        return Task.CompletedTask;
    }

    Task IConsumeObserver.PostConsume<T>(ConsumeContext<T> context)
    {
        Interlocked.Decrement(ref _inFlight);
        _consumed.Enqueue(new Incoming(context.MessageId, context.Message, Faulted: false));
        return Task.CompletedTask;
    }

    Task IConsumeObserver.ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
    {
        Interlocked.Decrement(ref _inFlight);
        _consumed.Enqueue(new Incoming(context.MessageId, context.Message, Faulted: true));
        return Task.CompletedTask;
    }
}
