using MassTransit;
using Metering.Contracts.Events;

namespace Metering.Billing.Events;

/// <summary>
/// Runs a billing run, on its own queue so that a long run never holds up the events on "billing".
/// Not an <see cref="Hosting.Messaging.IdempotentConsumer{TContext,TMessage}"/>: that would make the
/// whole run one transaction (one long write lock, every bill in memory). Instead each batch commits
/// its bills with the claim of the rows it billed, and the run's status says what is left: a
/// redelivered message for a completed run does nothing, for an interrupted run it bills what is
/// still unbilled.
/// </summary>
public sealed class ProcessBillingRunConsumer(BillingRunProcessor processor) : IConsumer<ProcessBillingRun>
{
    public Task Consume(ConsumeContext<ProcessBillingRun> context) =>
        processor.ProcessAsync(context.Message.RunId, context.CancellationToken);
}

/// <summary>A run whose message exhausted its retries (and went to the error queue) is marked FAILED with the reason.</summary>
public sealed class ProcessBillingRunFaultConsumer(BillingRunProcessor processor) : IConsumer<Fault<ProcessBillingRun>>
{
    public Task Consume(ConsumeContext<Fault<ProcessBillingRun>> context)
    {
        var error = context.Message.Exceptions.FirstOrDefault();
        var reason = error is null ? "processing failed" : $"{error.ExceptionType}: {error.Message}";
        return processor.FailAsync(context.Message.Message.RunId, reason, context.CancellationToken);
    }
}
