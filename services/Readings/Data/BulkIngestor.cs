using MassTransit;
using System.Diagnostics.Metrics;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Hosting.Telemetry;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Metering.Readings.Data;

public enum IngestOutcome
{
    Accepted,
    Held,
    Duplicate,
    Refused,
}

public sealed record IngestResult(long Row, string? UserNumber, IngestOutcome Outcome, Guid? ReadingId = null,
    long ConsumptionLitres = 0, string? Field = null, string? Reason = null);

/// <summary>
/// Bulk loads (route files, meter-data streams) in chunks: per chunk the chains of all its accounts are
/// loaded with a few queries, every row goes through the same <see cref="ReadingChain"/> rules as a single
/// reading, and the chunk is written in one transaction with its events batched into
/// <c>ReadingBatchAccepted</c> messages. A bad row is refused alone; a re-sent row is a duplicate.
/// </summary>
public sealed class BulkIngestor(ReadingsDbContext db, TimeProvider clock, UtilityCalendar calendar,
    IOptions<ReadingRules> rules, WriteGate gate, IConfiguration configuration, ILogger<BulkIngestor> logger)
{
    /// <summary>
    /// On SQLite, chunks are loaded and written with plain commands (<see cref="SqliteChainReader"/>,
    /// <see cref="SqliteBulkWriter"/>); <c>Readings:SqliteFastPath=false</c> takes EF Core's path, the one SQL Server
    /// uses, which is how the tests show that both give the same rows.
    /// </summary>
    private readonly bool _fastPath = configuration.GetValue("Readings:SqliteFastPath", true);

    private readonly bool _syncOutsideLock = configuration.GetValue("Database:GroupCommit:SyncOutsideLock", true);

    /// <summary>Rows per chunk: <c>Readings:BulkChunkSize</c> (tests use small chunks to cross chunk boundaries).</summary>
    public int ChunkRows { get; } = Math.Max(1, configuration.GetValue("Readings:BulkChunkSize", ChunkSize));

    /// <summary>
    /// How many chunks of a bulk load are on their way at once (<see cref="BulkPipeline"/>): one written while the next
    /// is loaded and measured, and the caller receives the one after. <c>Readings:BulkChunksInFlight</c>; 1 takes the
    /// chunks one after the other. On two cores, 3 (two chunks measured beside the write) took CPU from the write, the
    /// stage every chunk waits for: 52 500 readings/s on average over five loads of 1 000 000, against 56 100 with 2.
    /// </summary>
    public int ChunksInFlight { get; } = Math.Max(1, configuration.GetValue("Readings:BulkChunksInFlight", 2));

    /// <summary>Rows written per transaction, unless configured otherwise.</summary>
    public const int ChunkSize = 5_000;

    /// <summary>Readings per <c>ReadingBatchAccepted</c> message.</summary>
    public const int EventBatchSize = 1_000;

    private const int MaxAttempts = 3;

    /// <summary>
    /// The thread CPU that chunks spend being measured (loading chains, the rules) and written (the statements and the
    /// commit), in seconds: the bulk path's two halves, which <see cref="BulkPipeline"/> runs side by side. The benchmark
    /// reports them per reading.
    /// </summary>
    public static readonly System.Diagnostics.Metrics.Meter Metrics = new("Metering.Readings.Bulk");

    private static readonly Counter<double> MeasureCpu = Metrics.CreateCounter<double>("metering.readings.bulk.measure_cpu", "s");
    private static readonly Counter<double> WriteCpu = Metrics.CreateCounter<double>("metering.readings.bulk.write_cpu", "s");

    public async Task<IngestResult[]> IngestAsync(IReadOnlyList<ReadingRow> rows, CancellationToken cancellationToken)
    {
        var chunk = Check(rows);
        await MeasureAsync(chunk, cancellationToken);
        return await WriteAsync(chunk, cancellationToken);
    }

    /// <summary>
    /// The checks that need no database (user number, date, register); the rows that pass are measured by
    /// <see cref="MeasureAsync"/>. <see cref="BulkPipeline"/> needs their accounts before it measures.
    /// </summary>
    public BulkChunk Check(IReadOnlyList<ReadingRow> rows)
    {
        var results = new IngestResult[rows.Count];
        var today = calendar.Today(clock.GetUtcNow());
        var valid = new List<(int Index, string UserNumber, DateOnly ReadOn)>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            try
            {
                if (row.Malformed is { } malformed)
                    throw malformed;
                var userNumber = UserNumber.Parse(row.UserNumber);
                var readOn = NewReading.Validate(row.ReadOn, row.Kind == ReadingKind.Estimated ? 0 : row.RegisterLitres, today).ReadOn;
                valid.Add((i, userNumber.Value, readOn));
            }
            catch (DomainException refusal)
            {
                results[i] = Refused(row, refusal);
            }
        }
        return new BulkChunk(rows, valid, results);
    }

    /// <summary>Loads the chains of the chunk's accounts and runs every checked row through the rules (no writing).</summary>
    public async Task MeasureAsync(BulkChunk chunk, CancellationToken cancellationToken)
    {
        chunk.Chains = null;
        if (chunk.Valid.Count == 0)
            return;
        var rows = chunk.Rows;
        var results = chunk.Results;
        var sqlite = db.Database.IsSqlite() && _fastPath;
        var thread = Environment.CurrentManagedThreadId;
        var cpu = ThreadCpuClock.Now();
        Dictionary<string, LoadedChain> chains;
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            if (sqlite)
                SqliteBulkWriter.PrepareConnection(db);
            chains = await ChainStore.LoadAsync(db, chunk.Valid.Select(v => v.UserNumber).ToList(), chunk.Valid.Min(v => v.ReadOn),
                chunk.Valid.Max(v => v.ReadOn), cancellationToken, track: !sqlite);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
        var now = clock.GetUtcNow();
        foreach (var (index, userNumber, readOn) in chunk.Valid)
        {
            var row = rows[index];
            try
            {
                if (!chains.TryGetValue(userNumber, out var loaded))
                    throw new NotFoundException("account", userNumber,
                        "Readings learns of new accounts from Accounts, so one opened moments ago may not have arrived yet");
                // MassTransit's NewId, made in the process, its text sorting by time as a version-7 Guid's does (the
                // readings' key is that text: new ids go to the end of the index). Guid.CreateVersion7 asked the kernel
                // for random bytes for every id, about 2 µs per reading of a bulk load on this machine's system calls.
                var id = NewId.NextSequentialGuid();
                var recorded = row.Kind == ReadingKind.Estimated
                    ? loaded.Chain.RecordEstimate(readOn, rules.Value, id)
                    : loaded.Chain.RecordActual(new NewReading(readOn, row.RegisterLitres), rules.Value, id);
                results[index] = new IngestResult(row.Row, userNumber, recorded.Outcome switch
                {
                    RecordOutcome.Accepted => IngestOutcome.Accepted,
                    RecordOutcome.Held => IngestOutcome.Held,
                    _ => IngestOutcome.Duplicate,
                }, recorded.Reading.Id, recorded.Reading.ConsumptionLitres, Reason: recorded.Reading.HoldReason);
            }
            catch (DomainException refusal)
            {
                results[index] = Refused(row, refusal);
            }
        }
        chunk.Chains = chains;
        chunk.MeasuredAt = now;
        Record(MeasureCpu, thread, cpu);
    }

    /// <summary>The calling thread's CPU since <paramref name="since"/>, when the work did not move to another thread.</summary>
    private static void Record(Counter<double> counter, int thread, TimeSpan since)
    {
        if (counter.Enabled && thread == Environment.CurrentManagedThreadId)
            counter.Add((ThreadCpuClock.Now() - since).TotalSeconds);
    }

    /// <summary>
    /// Writes what <see cref="MeasureAsync"/> recorded and returns once it is on the disk: <see cref="CommitAsync"/>,
    /// then <see cref="BulkChunk.DurableAsync"/>.
    /// </summary>
    public async Task<IngestResult[]> WriteAsync(BulkChunk chunk, CancellationToken cancellationToken)
    {
        await CommitAsync(chunk, cancellationToken);
        await chunk.DurableAsync();
        return chunk.Results;
    }

    /// <summary>
    /// Writes what <see cref="MeasureAsync"/> recorded, in one transaction; when another writer moved one of the chunk's
    /// chain heads meanwhile, the chunk is measured again and written again (up to three times). On SQLite the commit
    /// does not wait for the disk (<see cref="SqliteCommitWithoutSync"/>), so that the next chunk's write can take the
    /// lock at once: the chunk is visible when this returns, and on the disk once <see cref="BulkChunk.DurableAsync"/>
    /// has flushed the log, which its answer waits for. <c>Database:GroupCommit:SyncOutsideLock=false</c>, the group
    /// commits' setting, makes every chunk's commit wait for the disk under the lock instead.
    /// </summary>
    public async Task CommitAsync(BulkChunk chunk, CancellationToken cancellationToken)
    {
        if (chunk.Valid.Count == 0)
            return;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (chunk.Chains is null)
                    await MeasureAsync(chunk, cancellationToken);
                await WriteMeasuredAsync(chunk, cancellationToken);
                return;
            }
            // Another writer moved a chain head of this chunk: load the chunk again and measure again.
            catch (DbUpdateException ex) when (attempt < MaxAttempts)
            {
                chunk.Chains = null;
                db.ChangeTracker.Clear();
                logger.LogInformation(ex, "A bulk chunk of {Rows} rows met a concurrent reading (attempt {Attempt}); retrying", chunk.Rows.Count, attempt);
            }
            finally
            {
                db.ChangeTracker.Clear();
            }
        }
    }

    private async Task WriteMeasuredAsync(BulkChunk chunk, CancellationToken cancellationToken)
    {
        var sqlite = db.Database.IsSqlite() && _fastPath;
        var chains = chunk.Chains!;
        var now = chunk.MeasuredAt;
        // The rules ran on what was loaded; only the write queues behind the gate. A chain moved meanwhile
        // fails its head check and the chunk is measured again.
        using var writing = await gate.EnterAsync(db, cancellationToken);
        var thread = Environment.CurrentManagedThreadId;
        var cpu = ThreadCpuClock.Now();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            if (sqlite)
                SqliteBulkWriter.PrepareConnection(db);
            await using var withoutSync = _syncOutsideLock ? await SqliteCommitWithoutSync.BeginAsync(db, cancellationToken) : null;
            await WriteInTransactionAsync(chains, now, sqlite, cancellationToken);
            chunk.LogFlush = withoutSync?.LogFlush;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
        Record(WriteCpu, thread, cpu);
    }

    private async Task WriteInTransactionAsync(Dictionary<string, LoadedChain> chains, DateTimeOffset now, bool sqlite,
        CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var events = new List<ReadingAccepted>();
        if (sqlite)
        {
            foreach (var loaded in chains.Values)
                events.AddRange(loaded.Chain.Added.Where(r => r.Status == ReadingStatus.Accepted)
                    .Select(r => ChainStore.Accepted(loaded.Account.UserNumber, r, now)));
            await SqliteBulkWriter.WriteAsync(db, chains.Values, now, cancellationToken);
        }
        else
        {
            foreach (var loaded in chains.Values)
                events.AddRange(ChainStore.Stage(db, loaded, now));
        }
        var queued = new List<OutboxMessage>();
        foreach (var batch in events.Chunk(EventBatchSize))
            queued.Add(db.Publish(new ReadingBatchAccepted(batch, now)));
        // On SQLite the outbox rows go in through one prepared insert rather than EF Core's update pipeline.
        if (sqlite)
            await db.WriteQueuedAsync(queued, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static IngestResult Refused(ReadingRow row, DomainException refusal) =>
        new(row.Row, row.UserNumber, IngestOutcome.Refused,
            Field: (refusal as InvalidArgumentException)?.Field,
            Reason: refusal is InvalidArgumentException invalid ? invalid.Reason : refusal.Message);
}

/// <summary>
/// A chunk of a bulk load on its way through <see cref="BulkIngestor"/>: the rows, those that passed the checks
/// needing no database, every row's result so far, and (once measured) the chains with the readings to write.
/// </summary>
public sealed class BulkChunk(IReadOnlyList<ReadingRow> rows, List<(int Index, string UserNumber, DateOnly ReadOn)> valid,
    IngestResult[] results)
{
    public IReadOnlyList<ReadingRow> Rows { get; } = rows;
    public List<(int Index, string UserNumber, DateOnly ReadOn)> Valid { get; } = valid;
    public IngestResult[] Results { get; } = results;
    internal Dictionary<string, LoadedChain>? Chains { get; set; }
    internal DateTimeOffset MeasuredAt { get; set; }

    /// <summary>The flush that puts the chunk's commit on the disk, when the commit did not wait for it.</summary>
    internal ILogFlush? LogFlush { get; set; }

    /// <summary>Returns once the chunk's commit is on the disk.</summary>
    public Task DurableAsync() => LogFlush?.SyncAsync() ?? Task.CompletedTask;

    private HashSet<string>? _accounts;

    /// <summary>Whether any checked row of this chunk belongs to an account that <paramref name="other"/> writes.</summary>
    public bool SharesAccountsWith(BulkChunk other)
    {
        if (other.Valid.Count == 0 || Valid.Count == 0)
            return false;
        var accounts = other.Accounts();
        foreach (var v in Valid)
            if (accounts.Contains(v.UserNumber))
                return true;
        return false;
    }

    /// <summary>The accounts of the checked rows, built once: a chunk is compared with each chunk behind it.</summary>
    private HashSet<string> Accounts()
    {
        if (_accounts is null)
        {
            _accounts = new HashSet<string>(Valid.Count, StringComparer.Ordinal);
            foreach (var v in Valid)
                _accounts.Add(v.UserNumber);
        }
        return _accounts;
    }
}
