using Metering.Readings.Domain;

namespace Metering.Readings.Data;

/// <summary>
/// Feeds a bulk load's chunks through two <see cref="BulkIngestor"/>s, each with a DbContext (a connection) of its own,
/// so that chunk N+1 is checked, loaded and measured on the caller's thread while chunk N is written and committed on
/// another: a chunk's work is about half reading and measuring and half writing, and one thread doing both in turn
/// left the second core idle. Only one chunk is written at a time, in order, so the answers keep the rows' order. A
/// chunk that has an account the chunk being written also writes waits for that write before it is loaded (its
/// chain is about to move); chunks of other accounts read SQLite's last committed state, which the write in flight
/// does not touch for them, and every write still checks the chain heads it measured from.
/// <c>Readings:BulkPipeline=false</c> ingests the chunks one after the other.
/// </summary>
public sealed class BulkPipeline : IAsyncDisposable
{
    private readonly BulkIngestor _first;
    private readonly IServiceScope? _secondScope;
    private readonly BulkIngestor? _second;
    private readonly Action<IngestResult[]> _answered;
    private Task<IngestResult[]>? _writing;
    private BulkChunk? _beingWritten;
    private int _turn;

    /// <param name="services">The request's scope; the second ingestor comes from a scope of its own.</param>
    /// <param name="answered">Receives each chunk's results, in the order of the chunks.</param>
    public BulkPipeline(IServiceProvider services, Action<IngestResult[]> answered)
    {
        _answered = answered;
        _first = services.GetRequiredService<BulkIngestor>();
        if (_first.Pipelined)
        {
            _secondScope = services.GetRequiredService<IServiceScopeFactory>().CreateScope();
            _second = _secondScope.ServiceProvider.GetRequiredService<BulkIngestor>();
        }
    }

    /// <summary>Rows per chunk (<c>Readings:BulkChunkSize</c>, 5 000 by default).</summary>
    public int ChunkRows => _first.ChunkRows;

    /// <summary>Takes one chunk: returns once it is measured and its write has started (or, unpipelined, is done).</summary>
    public async Task AddAsync(IReadOnlyList<ReadingRow> rows, CancellationToken cancellationToken)
    {
        if (_second is null)
        {
            _answered(await _first.IngestAsync(rows, cancellationToken));
            return;
        }
        // The two ingestors take turns: the one that wrote the chunk before last is free again (its write was awaited).
        var ingestor = (_turn++ & 1) == 0 ? _first : _second;
        var chunk = ingestor.Check(rows);
        if (_beingWritten is not null && chunk.SharesAccountsWith(_beingWritten))
            await AwaitWriteAsync();
        await ingestor.MeasureAsync(chunk, cancellationToken);
        await AwaitWriteAsync();
        _beingWritten = chunk;
        // The write is synchronous work on SQLite (Microsoft.Data.Sqlite's async calls complete inline): on a thread of
        // its own, so that the caller goes on receiving and measuring.
        _writing = Task.Run(() => ingestor.WriteAsync(chunk, cancellationToken), cancellationToken);
    }

    /// <summary>Waits for the last chunk's write.</summary>
    public Task CompleteAsync() => AwaitWriteAsync();

    private async Task AwaitWriteAsync()
    {
        if (_writing is not { } writing)
            return;
        _writing = null;
        _beingWritten = null;
        _answered(await writing);
    }

    public async ValueTask DisposeAsync()
    {
        // A load that failed midway (the client went away) lets the write in flight end before its context is disposed;
        // its own failure, if any, is not the one to report.
        if (_writing is { } writing)
        {
            try
            {
                await writing;
            }
            catch (Exception)
            {
                // The caller is already failing with the first error.
            }
        }
        _secondScope?.Dispose();
    }
}
