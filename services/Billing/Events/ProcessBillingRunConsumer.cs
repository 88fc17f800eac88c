using MassTransit;
using Metering.Contracts.Events;

namespace Metering.Billing.Events;

/// <summary>
/// Plans a billing run into chunks, on the runs queue so that a long run never holds up the events on
/// "billing". Not an <see cref="Hosting.Messaging.IdempotentConsumer{TContext,TMessage}"/>: the run's
/// status says whether it was planned, and planning is one transaction.
/// </summary>
public sealed class ProcessBillingRunConsumer(BillingRunProcessor processor) : IConsumer<ProcessBillingRun>
{
    public Task Consume(ConsumeContext<ProcessBillingRun> context) =>
        processor.PlanAsync(context.Message.RunId, context.CancellationToken);
}

/// <summary>
/// Bills one chunk of a run. Its bills commit with the claim of the rows they billed (per chunk on SQLite, per batch
/// elsewhere) and the chunk's completion is recorded once, so a redelivered chunk bills only what is still unbilled.
/// </summary>
public sealed class BillingRunChunkConsumer(BillingRunProcessor processor) : IConsumer<BillingRunChunkWork>
{
    public Task Consume(ConsumeContext<BillingRunChunkWork> context) =>
        processor.ProcessChunkAsync(context.Message.RunId, context.Message.Chunk, context.CancellationToken);
}

/// <summary>A run whose planning exhausted its retries (and went to the error queue) is marked FAILED with the reason.</summary>
public sealed class ProcessBillingRunFaultConsumer(BillingRunProcessor processor) : IConsumer<Fault<ProcessBillingRun>>
{
    public Task Consume(ConsumeContext<Fault<ProcessBillingRun>> context) =>
        processor.FailAsync(context.Message.Message.RunId, Reason(context.Message), context.CancellationToken);

    internal static string Reason(Fault fault)
    {
        var error = fault.Exceptions.FirstOrDefault();
        return error is null ? "processing failed" : $"{error.ExceptionType}: {error.Message}";
    }
}

/// <summary>A chunk that exhausted its retries fails its run: the operator sees why, and a new run picks up what is left.</summary>
public sealed class BillingRunChunkFaultConsumer(BillingRunProcessor processor) : IConsumer<Fault<BillingRunChunkWork>>
{
    public Task Consume(ConsumeContext<Fault<BillingRunChunkWork>> context) =>
        processor.FailAsync(context.Message.Message.RunId, ProcessBillingRunFaultConsumer.Reason(context.Message),
            context.CancellationToken);
}
