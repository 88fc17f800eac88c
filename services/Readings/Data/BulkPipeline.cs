using Metering.Readings.Domain;

namespace Metering.Readings.Data;

/// <summary>
/// Feeds a bulk load's chunks through several <see cref="BulkIngestor"/>s, each with a DbContext (a connection) of its
/// own, so that up to <see cref="BulkIngestor.ChunksInFlight"/> chunks (2 by default) are on their way at once: the
/// caller receives and checks the next chunk while the one ahead is loaded and measured on a thread-pool thread, and the
/// one ahead of that is written. A chunk's work is about half loading and measuring and half writing; when the caller
/// also measured, it was the thread the load waited for, and a core stood idle for a third of the time.
/// <para>Writes go one at a time, in the chunks' order, so the answers keep the rows' order. A chunk that has an account
/// of a chunk still in flight waits until that chunk is written before it is loaded (its chain is about to move);
/// chunks of other accounts read SQLite's last committed state, which the writes in flight do not touch for them, and
/// every write still checks the chain heads it measured from. <c>Readings:BulkChunksInFlight=1</c> ingests the chunks
/// one after the other.</para>
/// </summary>
public sealed class BulkPipeline : IAsyncDisposable
{
    private readonly IServiceProvider _services;
    private readonly BulkIngestor _first;
    private readonly Action<IngestResult[]> _answered;
    private readonly int _inFlightLimit;
    private readonly List<IServiceScope> _scopes = [];
    private readonly Stack<BulkIngestor> _idle = new();
    private readonly Queue<InFlight> _inFlight = new();
    private Task _lastCommit = Task.CompletedTask;

    /// <param name="services">The request's scope; the other ingestors come from scopes of their own.</param>
    /// <param name="answered">Receives each chunk's results, in the order of the chunks.</param>
    public BulkPipeline(IServiceProvider services, Action<IngestResult[]> answered)
    {
        _services = services;
        _answered = answered;
        _first = services.GetRequiredService<BulkIngestor>();
        _inFlightLimit = _first.ChunksInFlight;
        _idle.Push(_first);
    }

    /// <summary>Rows per chunk (<c>Readings:BulkChunkSize</c>, 5 000 by default).</summary>
    public int ChunkRows => _first.ChunkRows;

    /// <summary>
    /// Takes one chunk: returns once its measuring has started (or, with one chunk in flight, once it is written),
    /// after answering the chunks that were done before it.
    /// </summary>
    public async Task AddAsync(IReadOnlyList<ReadingRow> rows, CancellationToken cancellationToken)
    {
        if (_inFlightLimit == 1)
        {
            _answered(await _first.IngestAsync(rows, cancellationToken));
            return;
        }
        // The oldest chunks are answered as soon as they are written, and make room when the pipeline is full.
        while (_inFlight.Count > 0 && (_inFlight.Count >= _inFlightLimit || _inFlight.Peek().Durable.IsCompleted))
            await AnswerOldestAsync();
        var ingestor = TakeIngestor();
        var chunk = ingestor.Check(rows);
        // Wait until every chunk ahead that shares an account with this one is committed, so that this one loads the
        // chains those commits moved. Every chunk ahead of the last such one is then committed too (commits are in order).
        var mustFollow = _inFlight.LastOrDefault(ahead => chunk.SharesAccountsWith(ahead.Chunk));
        if (mustFollow is not null)
            await Completion(mustFollow.Committed);
        // Loading and measuring are synchronous work on SQLite (Microsoft.Data.Sqlite's async calls complete inline):
        // on a thread of their own, so that the caller goes on receiving.
        var measured = Task.Run(() => ingestor.MeasureAsync(chunk, cancellationToken), cancellationToken);
        var commitBefore = _lastCommit;
        var committed = Task.Run(async () =>
        {
            await measured;
            // A write that failed ends the load: the chunks behind it are not written.
            await commitBefore;
            await ingestor.CommitAsync(chunk, cancellationToken);
        }, cancellationToken);
        _lastCommit = committed;
        // The next chunk's write starts at the commit; this chunk is answered once the log's flush has it on the disk.
        _inFlight.Enqueue(new InFlight(chunk, ingestor, committed, DurableAsync(committed, chunk)));
    }

    /// <summary>Waits for every chunk's write and answers them.</summary>
    public async Task CompleteAsync()
    {
        while (_inFlight.Count > 0)
            await AnswerOldestAsync();
    }

    private async Task AnswerOldestAsync()
    {
        var oldest = _inFlight.Dequeue();
        await oldest.Durable;
        _idle.Push(oldest.Ingestor);
        _answered(oldest.Chunk.Results);
    }

    private static async Task DurableAsync(Task committed, BulkChunk chunk)
    {
        await committed;
        await chunk.DurableAsync();
    }

    private BulkIngestor TakeIngestor()
    {
        if (_idle.TryPop(out var idle))
            return idle;
        var scope = _services.GetRequiredService<IServiceScopeFactory>().CreateScope();
        _scopes.Add(scope);
        return scope.ServiceProvider.GetRequiredService<BulkIngestor>();
    }

    /// <summary>A task that completes with <paramref name="task"/>, whether it succeeded or not: its failure is reported in order.</summary>
    private static Task Completion(Task task) => task.ContinueWith(static _ => { }, CancellationToken.None,
        TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    public async ValueTask DisposeAsync()
    {
        // A load that failed midway (the client went away) lets the chunks in flight end before their contexts are
        // disposed; their own failures, if any, are not the ones to report.
        while (_inFlight.TryDequeue(out var inFlight))
            await Completion(inFlight.Durable);
        foreach (var scope in _scopes)
            scope.Dispose();
    }

    /// <param name="Committed">The chunk's write, visible to the chunks behind it.</param>
    /// <param name="Durable">The same on the disk: when the chunk is answered.</param>
    private sealed record InFlight(BulkChunk Chunk, BulkIngestor Ingestor, Task Committed, Task Durable);
}
