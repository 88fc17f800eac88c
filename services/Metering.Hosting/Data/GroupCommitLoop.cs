using System.Diagnostics;
using System.Threading.Channels;
using Metering.Hosting.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Metering.Hosting.Data;

/// <summary>Makes what was committed before the call durable; a pipelined group commit awaits it before answering.</summary>
public interface ILogFlush
{
    Task SyncAsync();
}

/// <summary>
/// The queue and loop of a group commit. Every commit of a durable SQLite database waits for the disk, and one
/// writer at a time may commit; work items that arrive together are therefore written by one loop in one
/// transaction (see the subclasses' <see cref="WriteAsync"/>) and answered after the single commit.
/// <para>
/// Pipelined (<c>Database:GroupCommit:SyncOutsideLock</c>, on by default): the batch commits without waiting for
/// the disk and releases SQLite's write lock; its answers wait for the log's flush (<see cref="SqliteWalSync"/>)
/// while the loop already writes the next batch. Nothing is answered before it is on the disk, as before, but a
/// batch no longer waits for the previous batch's disk wait as well as its own.
/// </para>
/// An item answered with <c>null</c> goes back to its caller's ordinary path; so does everything still queued when
/// the host stops.
/// </summary>
public abstract class GroupCommitLoop<TItem, TResult>(int maxBatch) : BackgroundService where TResult : class
{
    /// <summary>A queued item, where to answer it, and the answer decided by <see cref="WriteAsync"/>.</summary>
    /// <remarks><see cref="Caller"/> is the request's activity: the loop runs outside the request, and events it
    /// publishes must continue that trace.</remarks>
    protected sealed class Pending(TItem item, Activity? caller)
    {
        private TResult? _result;
        private Exception? _refusal;

        public TItem Item { get; } = item;

        public Activity? Caller { get; } = caller;

        internal long QueuedAt { get; } = Stopwatch.GetTimestamp();

        internal TaskCompletionSource<TResult?> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The item's result, given once the batch is committed (and, pipelined, on the disk).</summary>
        public void Decide(TResult? result) => (_result, _refusal) = (result, null);

        /// <summary>The item's refusal, given as an exception once the batch is committed.</summary>
        public void Refuse(Exception refusal) => (_result, _refusal) = (null, refusal);

        /// <summary>Back to the caller's own path (the default).</summary>
        public void HandBack() => (_result, _refusal) = (null, null);

        internal void Release()
        {
            GroupCommitMetrics.ItemLatency.Record(Stopwatch.GetElapsedTime(QueuedAt).TotalMilliseconds);
            if (_refusal is not null)
                Answer.TrySetException(_refusal);
            else
                Answer.TrySetResult(_result);
        }
    }

    private readonly Channel<Pending> _queue =
        Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });


    /// <summary>True when <c>Database:GroupCommit:SyncOutsideLock</c> is on: commit without the disk wait, flush after.</summary>
    protected static bool SyncOutsideLock(IConfiguration configuration) =>
        configuration.GetValue("Database:GroupCommit:SyncOutsideLock", true);

    /// <summary>The item's result once committed; null when the caller should handle it alone.</summary>
    protected async Task<TResult?> SubmitAsync(TItem item, CancellationToken cancellationToken)
    {
        var pending = new Pending(item, Activity.Current);
        if (!_queue.Writer.TryWrite(pending))
            return null;
        // Once queued, the item is decided whatever the caller does; a cancelled caller just stops waiting.
        return await pending.Answer.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Writes one batch in one transaction and decides every item in it (<see cref="Pending.Decide"/>,
    /// <see cref="Pending.Refuse"/>, or left to the caller's own path). Returns null when the commit waited for the
    /// disk itself, or the flush to await before the answers go out (a commit made without the disk wait, see
    /// <see cref="SqliteCommitWithoutSync"/>; the flush is <see cref="SqliteWalSync"/>). A batch that throws is
    /// handed back whole.
    /// </summary>
    protected abstract Task<ILogFlush?> WriteAsync(IReadOnlyList<Pending> batch, CancellationToken stoppingToken);

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

    /// <summary>
    /// The loop runs on two threads of its own, a writer and a flusher, not on the thread pool: under load the pool's
    /// queue holds the requests' work, and every hop of the loop through it (the next batch's start, a flush's end)
    /// waited behind them; at a steady 1 000 postings/s that put tens of milliseconds on the writes of the slowest
    /// batches while the disk's flushes stayed under 10 ms. Both block only on their own work.
    /// </summary>
    protected sealed override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flusher = new Thread(() =>
        {
            FlushLoop();
            done.TrySetResult();
        }) { IsBackground = true, Name = $"{GetType().Name} flush" };
        var writer = new Thread(() => WriteLoop(stoppingToken)) { IsBackground = true, Name = $"{GetType().Name} write" };
        flusher.Start();
        writer.Start();
        return done.Task;
    }

    /// <summary>Batches committed without the disk wait, in commit order, for the flusher.</summary>
    private readonly System.Collections.Concurrent.BlockingCollection<(ILogFlush Sync, Pending[] Batch)> _committed = new();

    /// <summary>
    /// Batches between their write and their answers: two. One batch committed while the one before it is flushed is
    /// the whole gain; a third would only join the second's flush, so the writer waits (and the queue gathers a bigger
    /// batch) until the flush before last has ended: every batch pays a transaction and its prepared statements.
    /// </summary>
    private readonly SemaphoreSlim _inFlight = new(2, 2);

    private void WriteLoop(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(maxBatch);
        try
        {
            while (_queue.Reader.WaitToReadAsync(stoppingToken).AsTask().GetAwaiter().GetResult())
            {
                _inFlight.Wait(stoppingToken);
                while (batch.Count < maxBatch && _queue.Reader.TryRead(out var pending))
                    batch.Add(pending);
                GroupCommitMetrics.BatchSize.Record(batch.Count);
                var started = Stopwatch.GetTimestamp();
                foreach (var pending in batch)
                    GroupCommitMetrics.Queued.Record(Stopwatch.GetElapsedTime(pending.QueuedAt, started).TotalMilliseconds);
                ILogFlush? sync;
                try
                {
                    // Microsoft.Data.Sqlite completes its async calls inline: this runs on the writer's thread.
                    sync = WriteAsync(batch, stoppingToken).GetAwaiter().GetResult();
                }
                catch (Exception) when (!stoppingToken.IsCancellationRequested)
                {
                    foreach (var pending in batch)
                        pending.HandBack();
                    sync = null;
                }
                GroupCommitMetrics.Write.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (sync is null)
                {
                    foreach (var pending in batch)
                        pending.Release();
                    _inFlight.Release();
                }
                else
                    _committed.Add((sync, batch.ToArray()));
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
            _committed.CompleteAdding();
        }
    }

    /// <summary>
    /// Answers committed batches once the log holding them is on the disk, in commit order: every batch waiting when a
    /// flush starts is answered by that one flush.
    /// </summary>
    private void FlushLoop()
    {
        var ready = new List<(ILogFlush Sync, Pending[] Batch)>();
        foreach (var first in _committed.GetConsumingEnumerable())
        {
            ready.Add(first);
            while (_committed.TryTake(out var more))
                ready.Add(more);
            Exception? failure = null;
            foreach (var sync in ready.Select(r => r.Sync).Distinct())
            {
                try
                {
                    sync.SyncAsync().GetAwaiter().GetResult();
                }
                catch (Exception ex)
                {
                    // Committed, but not known to be on the disk: no caller may be told it succeeded (nor to try again).
                    failure = new IOException("The database could not flush its log to the disk; the outcome is not known to be durable", ex);
                }
            }
            foreach (var (_, batch) in ready)
            {
                foreach (var pending in batch)
                {
                    if (failure is not null)
                        pending.Refuse(failure);
                    pending.Release();
                }
                _inFlight.Release();
            }
            ready.Clear();
        }
    }
}
