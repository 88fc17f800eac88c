using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace Metering.Hosting.Data;

/// <summary>
/// The queue and loop of a group commit. Every commit of a durable SQLite database waits for the
/// disk, and one writer at a time may commit; work items that arrive together are therefore
/// written by one loop in one transaction (see the subclasses' <see cref="WriteAsync"/>) and
/// answered after the single commit. An item answered with <c>null</c> goes back to its caller's
/// ordinary path; so does everything still queued when the host stops.
/// </summary>
public abstract class GroupCommitLoop<TItem, TResult>(int maxBatch) : BackgroundService where TResult : class
{
    /// <summary>A queued item and where to answer it. <paramref name="Caller"/> is the request's
    /// activity: the loop runs outside the request, and events it publishes must continue that trace.</summary>
    protected sealed record Pending(TItem Item, TaskCompletionSource<TResult?> Answer, Activity? Caller);

    private readonly Channel<Pending> _queue =
        Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>The item's result once committed; null when the caller should handle it alone.</summary>
    protected async Task<TResult?> SubmitAsync(TItem item, CancellationToken cancellationToken)
    {
        var pending = new Pending(item,
            new TaskCompletionSource<TResult?>(TaskCreationOptions.RunContinuationsAsynchronously), Activity.Current);
        if (!_queue.Writer.TryWrite(pending))
            return null;
        // Once queued, the item is decided whatever the caller does; a cancelled caller just stops waiting.
        return await pending.Answer.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Writes one batch in one transaction and answers every item in it (a result, a
    /// refusal as an exception, or null for the caller's own path).</summary>
    protected abstract Task WriteAsync(IReadOnlyList<Pending> batch, CancellationToken stoppingToken);

    /// <summary>Runs <paramref name="publish"/> under the caller's activity, so its events join the request's trace.</summary>
    protected static void InCallersTrace(Pending pending, Action publish)
    {
        var loop = Activity.Current;
        Activity.Current = pending.Caller;
        try
        {
            publish();
        }
        finally
        {
            Activity.Current = loop;
        }
    }

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(maxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < maxBatch && _queue.Reader.TryRead(out var pending))
                    batch.Add(pending);
                await WriteAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            foreach (var pending in batch)
                pending.Answer.TrySetResult(null);
            while (_queue.Reader.TryRead(out var left))
                left.Answer.TrySetResult(null);
        }
    }
}
