using System.Diagnostics;
using System.Globalization;
using Metering.Billing.Data;
using Metering.Billing.Domain;
using Metering.Billing.Grpc;
using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Hosting.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;

namespace Metering.Billing.Events;

/// <summary>Work item of a run: one chunk of its accounts, taken by whichever Billing replica is free.</summary>
public sealed record BillingRunChunkWork(Guid RunId, int Chunk);

/// <summary>
/// A run in two steps. Planning streams the user numbers with unbilled consumption up to the cut-off and
/// cuts them into chunks (ranges of user numbers), stored with one work item each on the runs queue, in one
/// transaction. Any replica takes a chunk and bills it batch by batch: each batch writes its bills and lines, the
/// claim of the consumption rows, the accounts' new year positions and one <c>BillIssued</c>, committed with the
/// run's counters (on SQLite one transaction per chunk, its completion included; elsewhere one per batch). A chunk
/// stopped at any point resumes by running again (billed rows are no longer unbilled); the last chunk to complete
/// completes the run. A trial run computes the same bills and
/// writes only each chunk's totals, once, when the chunk completes.
/// </summary>
public sealed class BillingRunProcessor(
    BillingDbContext db, IOptions<BillingOptions> options, TimeProvider clock, ILogger<BillingRunProcessor> logger)
{
    private readonly BillingOptions _options = options.Value;

    /// <summary>SQLite's own reading, writing and transaction per chunk; otherwise the EF Core path a server database takes.</summary>
    private bool SqliteFastPath => _options.RunSqliteFastPath && db.Database.IsSqlite();
    // Profile of the chunk being billed, for its log line: reading, computing, writing, event and commit.
    private TimeSpan _readTime, _computeTime, _writeTime, _commitTime;
    // The same, as CPU time of the thread (the reading, computing and writing are synchronous on SQLite).
    private TimeSpan _readCpu, _computeCpu, _writeCpu;

    public async Task PlanAsync(Guid runId, CancellationToken cancellationToken)
    {
        var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
        {
            logger.LogWarning("Billing run {RunId} does not exist; its message is dropped", runId);
            return;
        }
        // Planned already (a redelivery): its chunks are on the queue.
        if (run.Status != BillingRunStatus.Pending)
            return;

        var chunks = new List<BillingRunChunk>();
        string? first = null, last = null;
        var inChunk = 0;
        var total = 0;
        // Streamed: a million user numbers pass through, only the chunk bounds stay.
        await foreach (var userNumber in UnbilledAccounts(run.CutOff).AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            first ??= userNumber;
            last = userNumber;
            inChunk++;
            total++;
            if (inChunk == _options.RunChunkSize)
            {
                chunks.Add(Chunk(runId, chunks.Count + 1, first, last, inChunk));
                (first, inChunk) = (null, 0);
            }
        }
        if (inChunk > 0)
            chunks.Add(Chunk(runId, chunks.Count + 1, first!, last!, inChunk));

        var now = clock.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        run.Status = BillingRunStatus.Running;
        run.StartedAt = now;
        run.AccountsTotal = total;
        run.ChunksTotal = chunks.Count;
        if (chunks.Count == 0)
            run.Finish(BillingRunStatus.Completed, now);
        db.RunChunks.AddRange(chunks);
        foreach (var chunk in chunks)
            db.Send(new BillingRunChunkWork(runId, chunk.Number), BillingGrpcService.RunsQueue);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Billing run {RunId} (cut-off {CutOff}) planned: {Accounts} accounts in {Chunks} chunks",
            runId, run.CutOff, total, chunks.Count);
    }

    /// <summary>
    /// For a chunk on SQLite, restored before the connection goes back to the pool:
    /// <list type="bullet">
    /// <item>WAL commits without an fsync each (<c>synchronous=NORMAL</c>): a crash loses at most the last chunk's
    /// work, which it bills again on resume; the database stays consistent.</item>
    /// <item>A page cache that holds the B-tree pages a run keeps touching.</item>
    /// <item>Checkpoints left to the other connections (<c>wal_autocheckpoint</c> raised to
    /// <see cref="BillingOptions.RunSqliteCheckpointPages"/>): the relay and the consumers commit often and
    /// checkpoint at SQLite's 1000 pages, on their own threads, while the chunk goes on; the chunk's connection
    /// checkpoints only if the log grows that far without them.</item>
    /// <item>No foreign-key checks: the only foreign key the run writes is a line's bill, and
    /// <see cref="SqliteBillWriter"/> inserts a batch's bills before the lines that refer to them.</item>
    /// </list>
    /// </summary>
    private async Task<SqliteSettings?> TuneSqliteAsync(CancellationToken cancellationToken)
    {
        var connection = db.Database.GetDbConnection();
        await using var command = connection.CreateCommand();
        async Task<long> PragmaAsync(string name)
        {
            command.CommandText = $"PRAGMA {name}";
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }
        var saved = new SqliteSettings(await PragmaAsync("synchronous"), await PragmaAsync("cache_size"),
            await PragmaAsync("wal_autocheckpoint"), await PragmaAsync("foreign_keys"));
        command.CommandText = $"PRAGMA synchronous=NORMAL; PRAGMA cache_size=-{_options.RunSqliteCacheKiB}; " +
                              $"PRAGMA wal_autocheckpoint={_options.RunSqliteCheckpointPages}; PRAGMA foreign_keys=OFF;";
        await command.ExecuteNonQueryAsync(cancellationToken);
        return saved;
    }

    private async Task RestoreSqliteAsync(SqliteSettings saved)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"PRAGMA synchronous={saved.Synchronous}; PRAGMA cache_size={saved.CacheSize}; " +
                              $"PRAGMA wal_autocheckpoint={saved.CheckpointPages}; PRAGMA foreign_keys={saved.ForeignKeys};";
        await command.ExecuteNonQueryAsync();
    }

    private sealed record SqliteSettings(long Synchronous, long CacheSize, long CheckpointPages, long ForeignKeys);

    private static BillingRunChunk Chunk(Guid runId, int number, string first, string last, int accounts) => new()
    {
        RunId = runId, Number = number, FirstUserNumber = first, LastUserNumber = last, Accounts = accounts,
    };

    /// <summary>
    /// Accounts, in user-number order, with consumption read on or before the cut-off and not billed. An
    /// account Billing has not heard of yet (its AccountOpened is still on the way) waits for the next run.
    /// </summary>
    private IQueryable<string> UnbilledAccounts(DateOnly cutOff) =>
        db.Consumptions.AsNoTracking()
            .Where(c => c.BillId == null && c.ReadOn <= cutOff)
            .Where(c => db.Accounts.Any(a => a.UserNumber == c.UserNumber))
            .Select(c => c.UserNumber)
            .Distinct()
            .OrderBy(u => u);

    public async Task ProcessChunkAsync(Guid runId, int number, CancellationToken cancellationToken)
    {
        var run = await db.Runs.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        var chunk = await db.RunChunks.AsNoTracking()
            .SingleOrDefaultAsync(c => c.RunId == runId && c.Number == number, cancellationToken);
        if (run is null || chunk is null || run.Status != BillingRunStatus.Running || chunk.CompletedAt is not null)
            return;

        var basis = await db.LoadScheduleAsync(cancellationToken);
        var totals = new RunTotals();
        // One connection for the whole chunk, so that its SQLite settings hold for every batch.
        await db.Database.OpenConnectionAsync(cancellationToken);
        var sqlite = SqliteFastPath;
        var tuned = sqlite ? await TuneSqliteAsync(cancellationToken) : null;
        var reader = sqlite ? new SqliteBatchReader(db) : null;
        // SQLite: the whole chunk is one transaction, its completion included. SQLite has one writer at a time anyway,
        // and each commit rewrites the pages every batch touches (the B-trees' growing ends, the outbox, the run's row)
        // and now and then checkpoints; a chunk stopped at any point bills again from its start.
        // Other databases: one transaction per batch (locks held briefly, replicas bill side by side).
        var chunkTransaction = sqlite && !run.IsTrial;
        IDbContextTransaction? transaction = null;
        // Where a chunk's time goes (paging the accounts vs reading, computing and writing their bills), in its log line.
        TimeSpan pageTime = default, batchTime = default;
        try
        {
            // Keyset paging by user number inside the chunk: an account billed in this pass is never picked again.
            var after = "";
            var first = chunk.FirstUserNumber;
            var last = chunk.LastUserNumber;
            while (true)
            {
                BatchRange range;
                if (reader is not null)
                {
                    // SQLite: the batch's reading finds its accounts itself, no paging query.
                    range = new BatchRange(first, after, last, _options.RunBatchSize, null);
                }
                else
                {
                    // Plain comparisons on the indexed column: the page is an index range, not a scan of the run.
                    var paging = Stopwatch.StartNew();
                    var accounts = await UnbilledAccounts(run.CutOff)
                        .Where(u => string.Compare(u, first) >= 0 && string.Compare(u, after) > 0 && string.Compare(u, last) <= 0)
                        .Take(_options.RunBatchSize)
                        .ToListAsync(cancellationToken);
                    pageTime += paging.Elapsed;
                    if (accounts.Count == 0)
                        break;
                    range = BatchRange.Of(accounts);
                }
                var batching = Stopwatch.StartNew();
                List<AccountBill> batch;
                string? lastRead;
                if (run.IsTrial)
                {
                    (batch, lastRead) = await ComputeBatchAsync(run, basis, range, reader, cancellationToken);
                }
                else
                {
                    transaction ??= await db.Database.BeginTransactionAsync(cancellationToken);
                    (batch, lastRead) = await BillBatchAsync(run, basis, range, reader, cancellationToken);
                    if (!chunkTransaction)
                    {
                        await CommitBatchesAsync(run, transaction, Totals(batch), cancellationToken);
                        await transaction.DisposeAsync();
                        transaction = null;
                    }
                }
                batchTime += batching.Elapsed;
                if (lastRead is null)
                    break;
                totals.Add(batch);
                db.ChangeTracker.Clear();
                after = lastRead;
            }
            if (chunkTransaction)
            {
                var committing = Stopwatch.StartNew();
                transaction ??= await db.Database.BeginTransactionAsync(cancellationToken);
                await CompleteChunkAsync(run, number, totals, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                _commitTime += committing.Elapsed;
            }
        }
        catch (BillingRunDataException ex)
        {
            // Bad data does not get better by retrying: the run stops, what it billed stays billed.
            db.ChangeTracker.Clear();
            if (transaction is not null)
            {
                // SQLite: the chunk's batches before the bad account commit; elsewhere the failing batch wrote nothing.
                if (chunkTransaction)
                    await CommitBatchesAsync(run, transaction, totals, cancellationToken);
                await transaction.DisposeAsync();
                transaction = null;
            }
            logger.LogError(ex, "Billing run {RunId} failed in chunk {Chunk}", runId, number);
            await FailAsync(runId, ex.Message, cancellationToken);
            return;
        }
        finally
        {
            if (transaction is not null)
                await transaction.DisposeAsync();
            // Its statements live on the connection's handle: finalised before the connection goes back to the pool.
            reader?.Dispose();
            if (tuned is { } saved)
                await RestoreSqliteAsync(saved);
            await db.Database.CloseConnectionAsync();
        }
        if (!chunkTransaction)
            await CompleteChunkAsync(run, number, run.IsTrial ? totals : new RunTotals(), cancellationToken);
        logger.LogInformation("Billed chunk {Chunk} of billing run {RunId} on {Machine}/{ProcessId}: {Accounts} accounts " +
            "(paging {PageMs:F0} ms, batches {BatchMs:F0} ms: reading {ReadMs:F0} ms, computing {ComputeMs:F0} ms, " +
            "writing {WriteMs:F0} ms, events and commit {CommitMs:F0} ms; thread CPU: reading {ReadCpuMs:F0} ms, " +
            "computing {ComputeCpuMs:F0} ms, writing {WriteCpuMs:F0} ms)",
            number, runId, Environment.MachineName, Environment.ProcessId, totals.Accounts, pageTime.TotalMilliseconds,
            batchTime.TotalMilliseconds, _readTime.TotalMilliseconds, _computeTime.TotalMilliseconds,
            _writeTime.TotalMilliseconds, _commitTime.TotalMilliseconds, _readCpu.TotalMilliseconds,
            _computeCpu.TotalMilliseconds, _writeCpu.TotalMilliseconds);
    }

    /// <summary>Adds the committed batches' bills to the run's counters and commits them, the counters with the bills.</summary>
    private async Task CommitBatchesAsync(BillingRun run, IDbContextTransaction transaction, RunTotals batches,
        CancellationToken cancellationToken)
    {
        var committing = Stopwatch.StartNew();
        // Locals: EF Core translates them as parameters, not a property chain on an object.
        var (count, amount, volume) = (batches.Accounts, batches.AmountFen, batches.VolumeLitres);
        await db.Runs.Where(r => r.Id == run.Id)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.AccountsBilled, r => r.AccountsBilled + count)
                .SetProperty(r => r.BillsIssued, r => r.BillsIssued + count)
                .SetProperty(r => r.TotalFen, r => r.TotalFen + amount)
                .SetProperty(r => r.VolumeLitres, r => r.VolumeLitres + volume), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        _commitTime += committing.Elapsed;
    }

    private static RunTotals Totals(List<AccountBill> bills)
    {
        var totals = new RunTotals();
        totals.Add(bills);
        return totals;
    }

    /// <summary>
    /// Marks the chunk done, adds a trial chunk's totals and completes the run when this was its last chunk,
    /// in one transaction: a redelivered chunk finds it done and adds nothing.
    /// </summary>
    private async Task CompleteChunkAsync(BillingRun run, int number, RunTotals totals, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        // Inside the chunk's own transaction (SQLite) the chunk's caller commits; otherwise this is one transaction.
        var own = db.Database.CurrentTransaction is null;
        await using var transaction = own ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
        var marked = await db.RunChunks
            .Where(c => c.RunId == run.Id && c.Number == number && c.CompletedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.CompletedAt, now), cancellationToken);
        if (marked == 0)
        {
            // Completed meanwhile by another copy of the chunk: whatever this copy did is rolled back.
            if (!own)
                throw new DbUpdateConcurrencyException($"chunk {number} of billing run {run.Id} was completed meanwhile");
            return;
        }
        // Locals: EF Core translates them as parameters, not a property chain on an object.
        var (accounts, amount, volume) = (totals.Accounts, totals.AmountFen, totals.VolumeLitres);
        await db.Runs.Where(r => r.Id == run.Id)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.ChunksDone, r => r.ChunksDone + 1)
                .SetProperty(r => r.AccountsBilled, r => r.AccountsBilled + accounts)
                .SetProperty(r => r.BillsIssued, r => r.BillsIssued + accounts)
                .SetProperty(r => r.TotalFen, r => r.TotalFen + amount)
                .SetProperty(r => r.VolumeLitres, r => r.VolumeLitres + volume), cancellationToken);
        var completed = await db.Runs
            .Where(r => r.Id == run.Id && r.Status == BillingRunStatus.Running && r.ChunksDone == r.ChunksTotal)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, BillingRunStatus.Completed)
                .SetProperty(r => r.ActiveSlot, (int?)null)
                .SetProperty(r => r.CompletedAt, now), cancellationToken);
        if (transaction is not null)
            await transaction.CommitAsync(cancellationToken);
        if (completed > 0)
            logger.LogInformation("Billing run {RunId} (cut-off {CutOff}) completed", run.Id, run.CutOff);
    }

    /// <summary>Marks a run FAILED unless it already ended (a run that completed stays completed).</summary>
    public async Task FailAsync(Guid runId, string reason, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null || run.Status is BillingRunStatus.Completed or BillingRunStatus.Failed)
            return;
        run.Finish(BillingRunStatus.Failed, clock.GetUtcNow().UtcDateTime, reason);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// Bills some accounts of a running run in one transaction, as one batch of a chunk does: public so that a
    /// test can stop a chunk after a batch, as a killed process would.
    /// </summary>
    public async Task BillAccountsAsync(Guid runId, IReadOnlyCollection<string> accounts, CancellationToken cancellationToken)
    {
        var run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == runId, cancellationToken);
        if (accounts.Count == 0)
            return;
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            using var reader = SqliteFastPath ? new SqliteBatchReader(db) : null;
            var schedule = await db.LoadScheduleAsync(cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var (bills, _) = await BillBatchAsync(run, schedule, BatchRange.Of(accounts), reader, cancellationToken);
            await CommitBatchesAsync(run, transaction, Totals(bills), cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
        db.ChangeTracker.Clear();
    }

    private sealed record AccountBill(string UserNumber, List<Consumption> Intervals, BillComputation Computed, long? BalanceFen,
        Dictionary<int, long> BilledBefore);

    /// <summary>
    /// The accounts a batch bills: those with unbilled rows whose user numbers lie in [First, Last] and after
    /// After, at most Max of them; with Only, just the listed ones of that range.
    /// </summary>
    private sealed record BatchRange(string First, string After, string Last, int Max, IReadOnlySet<string>? Only)
    {
        public static BatchRange Of(IReadOnlyCollection<string> accounts) => new(accounts.Min(StringComparer.Ordinal)!, "",
            accounts.Max(StringComparer.Ordinal)!, int.MaxValue, accounts.ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// The bills of a batch's accounts, computed from their unbilled rows and year positions, nothing written;
    /// with the last user number read (null: no account left in the range).
    /// </summary>
    private async Task<(List<AccountBill> Bills, string? LastRead)> ComputeBatchAsync(BillingRun run, TariffSchedule schedule,
        BatchRange range, SqliteBatchReader? reader, CancellationToken cancellationToken)
    {
        var reading = Stopwatch.StartNew();
        var readingCpu = ThreadCpuClock.Now();
        var input = reader is not null
            ? await reader.ReadAsync(run.CutOff, range.First, range.After, range.Last, range.Max, range.Only, cancellationToken)
            : await ReadWithEfAsync(run.CutOff, range, cancellationToken);
        var (rows, known) = (input.Rows, input.Accounts);
        _readTime += reading.Elapsed;
        _readCpu += ThreadCpuClock.Now() - readingCpu;
        var computing = Stopwatch.StartNew();
        var computingCpu = ThreadCpuClock.Now();
        var bills = new List<AccountBill>(known.Count);
        foreach (var account in rows.GroupBy(r => r.UserNumber))
        {
            var intervals = account.ToList();
            // An account whose rows arrived after the page was read but whose AccountOpened has not: the next run.
            if (!known.TryGetValue(account.Key, out var info))
                continue;
            var basis = new ChargeBasis(schedule,
                input.Sizes.GetValueOrDefault(account.Key) ?? [new HouseholdSize(info.OpenedOn, info.Persons)]);
            var billedBefore = input.Positions.GetValueOrDefault(account.Key) ?? [];
            try
            {
                var computed = BillCalculator.Bill(basis, intervals.Select(c => new ConsumptionInterval(
                    c.PreviousReadOn, c.PreviousRegisterLitres, c.ReadOn, c.RegisterLitres, c.ConsumptionLitres)), billedBefore);
                bills.Add(new AccountBill(account.Key, intervals, computed, info.BalanceFen, billedBefore));
            }
            catch (Exception ex) when (ex is ArgumentException or OverflowException)
            {
                throw new BillingRunDataException($"account {account.Key} cannot be billed: {ex.Message}", ex);
            }
        }
        _computeTime += computing.Elapsed;
        _computeCpu += ThreadCpuClock.Now() - computingCpu;
        return (bills, input.LastAccount);
    }

    /// <summary>
    /// A batch's input through EF Core (databases other than SQLite): index ranges from the first to the last user
    /// number rather than a list of a thousand parameters; rows of accounts outside the batch are dropped here.
    /// Positions, sizes and accounts are read only for accounts with unbilled rows, as the batch's are.
    /// </summary>
    private async Task<BatchInput> ReadWithEfAsync(DateOnly cutOff, BatchRange range, CancellationToken cancellationToken)
    {
        var (first, last) = (range.First, range.Last);
        var input = new BatchInput { LastAccount = range.Last };
        var unbilled = db.Consumptions.Where(c => c.BillId == null && c.ReadOn <= cutOff);
        input.Rows.AddRange((await unbilled.AsNoTracking()
            .Where(c => string.Compare(c.UserNumber, first) >= 0 && string.Compare(c.UserNumber, last) <= 0)
            .OrderBy(c => c.UserNumber).ThenBy(c => c.ReadOn).ThenBy(c => c.PreviousReadOn).ThenBy(c => c.Id)
            .ToListAsync(cancellationToken))
            .Where(c => range.Only?.Contains(c.UserNumber) ?? true));
        var positions = await db.YearPositions.AsNoTracking()
            .Where(p => string.Compare(p.UserNumber, first) >= 0 && string.Compare(p.UserNumber, last) <= 0)
            .Where(p => unbilled.Any(c => c.UserNumber == p.UserNumber))
            .ToListAsync(cancellationToken);
        foreach (var account in positions.GroupBy(p => p.UserNumber))
            input.Positions[account.Key] = account.ToDictionary(p => p.Year, p => p.BilledLitres);
        var sizes = await db.HouseholdSizes.AsNoTracking()
            .Where(h => string.Compare(h.UserNumber, first) >= 0 && string.Compare(h.UserNumber, last) <= 0)
            .Where(h => unbilled.Any(c => c.UserNumber == h.UserNumber))
            .ToListAsync(cancellationToken);
        foreach (var account in sizes.GroupBy(h => h.UserNumber))
            input.Sizes[account.Key] = account.Select(h => new HouseholdSize(h.EffectiveOn, h.Persons)).ToList();
        var known = await db.Accounts.AsNoTracking()
            .Where(a => string.Compare(a.UserNumber, first) >= 0 && string.Compare(a.UserNumber, last) <= 0)
            .Where(a => unbilled.Any(c => c.UserNumber == a.UserNumber))
            .Select(a => new { a.UserNumber, a.Persons, a.OpenedOn, a.BalanceFen })
            .ToListAsync(cancellationToken);
        foreach (var a in known)
            input.Accounts[a.UserNumber] = (a.Persons, a.OpenedOn, a.BalanceFen);
        return input;
    }

    /// <summary>
    /// Bills the given accounts inside the caller's transaction (which commits them with the run's counters): bills
    /// and lines, the claim of their rows, their new year positions and one <c>BillIssued</c>. On SQLite the rows go
    /// through prepared statements (<see cref="SqliteBillWriter"/>); elsewhere through EF Core, whose batching suits a
    /// server database.
    /// </summary>
    private async Task<(List<AccountBill> Bills, string? LastRead)> BillBatchAsync(BillingRun run, TariffSchedule schedule,
        BatchRange range, SqliteBatchReader? reader, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var dueDate = run.CutOff.AddDays(_options.PaymentTermDays);

        var (computed, lastRead) = await ComputeBatchAsync(run, schedule, range, reader, cancellationToken);
        if (computed.Count == 0)
            return (computed, lastRead);

        var writing = Stopwatch.StartNew();
        var writingCpu = ThreadCpuClock.Now();
        var sqlite = SqliteFastPath;
        var bills = computed.Select(b =>
        {
            var bill = BillRecords.NewBill(b.UserNumber, b.Intervals[0], b.Intervals[^1], b.Computed, dueDate, now.UtcDateTime);
            // SQLite stores ids as text: ids that sort as text in issue order append to the bills' and lines'
            // primary-key B-trees instead of dirtying a random page per bill.
            if (sqlite)
                bill.Id = MassTransit.NewId.NextSequentialGuid();
            bill.RunId = run.Id;
            bill.BalanceBroughtForwardFen = b.BalanceFen;
            return bill;
        }).ToList();
        if (sqlite)
            WriteWithCommands(computed, bills);
        else
            TrackForSaveChanges(computed, bills);

        _writeTime += writing.Elapsed;
        _writeCpu += ThreadCpuClock.Now() - writingCpu;
        var publishing = Stopwatch.StartNew();
        var issued = db.Publish(new BillIssued(run.Id, bills.Select(BillRecords.Issued).ToList(), now));
        // SQLite: the outbox row through a prepared INSERT (nothing else is tracked); elsewhere SaveChanges writes it.
        if (sqlite)
            await db.WriteQueuedAsync([issued], cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        _commitTime += publishing.Elapsed;
        return (computed, lastRead);
    }

    private void WriteWithCommands(List<AccountBill> computed, List<Bill> bills)
    {
        using var writer = new SqliteBillWriter(db, _options.RunSqliteRowsPerStatement);
        for (var i = 0; i < computed.Count; i++)
        {
            var (userNumber, intervals, result, _, before) = computed[i];
            writer.InsertBill(bills[i]);
            foreach (var row in intervals)
                writer.Claim(row);
            foreach (var (year, after) in result.BilledLitresAfter)
                writer.MovePosition(userNumber, year, before.TryGetValue(year, out var from) ? from : null, after);
        }
        writer.Flush();
    }

    private void TrackForSaveChanges(List<AccountBill> computed, List<Bill> bills)
    {
        for (var i = 0; i < computed.Count; i++)
        {
            var (userNumber, intervals, result, _, before) = computed[i];
            db.Bills.Add(bills[i]);
            foreach (var row in intervals)
            {
                // The update carries "AND BillId IS NULL": a row billed meanwhile by a racing copy fails the batch.
                db.Consumptions.Attach(row);
                row.BillId = bills[i].Id;
            }
            // Attached with the values the bill was computed on: the update carries them as its concurrency check.
            var positions = before.ToDictionary(p => (userNumber, p.Key), p =>
                db.YearPositions.Attach(new YearPosition { UserNumber = userNumber, Year = p.Key, BilledLitres = p.Value }).Entity);
            BillRecords.MovePositions(db, positions, userNumber, result.BilledLitresAfter);
        }
    }

    private sealed class RunTotals
    {
        public int Accounts { get; private set; }
        public long AmountFen { get; private set; }
        public long VolumeLitres { get; private set; }

        public void Add(List<AccountBill> bills)
        {
            Accounts += bills.Count;
            AmountFen += bills.Sum(b => b.Computed.AmountFen);
            VolumeLitres += bills.Sum(b => b.Computed.VolumeLitres);
        }
    }
}

/// <summary>Stored data that no retry will make billable (an interval ending before it starts, an overflow).</summary>
public sealed class BillingRunDataException(string message, Exception inner) : Exception(message, inner);
