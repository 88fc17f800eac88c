using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
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

    /// <summary>Rows written per transaction.</summary>
    public const int ChunkSize = 5_000;

    /// <summary>Readings per <c>ReadingBatchAccepted</c> message.</summary>
    public const int EventBatchSize = 1_000;

    private const int MaxAttempts = 3;

    public async Task<IngestResult[]> IngestAsync(IReadOnlyList<ReadingRow> rows, CancellationToken cancellationToken)
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
        if (valid.Count == 0)
            return results;

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteAsync(rows, valid, results, cancellationToken);
                return results;
            }
            // Another writer moved a chain head of this chunk: load the chunk again and measure again.
            catch (DbUpdateException ex) when (attempt < MaxAttempts)
            {
                db.ChangeTracker.Clear();
                logger.LogInformation(ex, "A bulk chunk of {Rows} rows met a concurrent reading (attempt {Attempt}); retrying", rows.Count, attempt);
            }
            finally
            {
                db.ChangeTracker.Clear();
            }
        }
    }

    private async Task WriteAsync(IReadOnlyList<ReadingRow> rows, List<(int Index, string UserNumber, DateOnly ReadOn)> valid,
        IngestResult[] results, CancellationToken cancellationToken)
    {
        var sqlite = db.Database.IsSqlite() && _fastPath;
        var chains = await ChainStore.LoadAsync(db, valid.Select(v => v.UserNumber).ToList(), valid.Min(v => v.ReadOn),
            valid.Max(v => v.ReadOn), cancellationToken, track: !sqlite);
        var now = clock.GetUtcNow();
        foreach (var (index, userNumber, readOn) in valid)
        {
            var row = rows[index];
            try
            {
                if (!chains.TryGetValue(userNumber, out var loaded))
                    throw new NotFoundException("account", userNumber,
                        "Readings learns of new accounts from Accounts, so one opened moments ago may not have arrived yet");
                var id = Guid.CreateVersion7(now);
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

        // The rules ran on what was loaded; only the write queues behind the gate. A chain moved meanwhile
        // fails its head check and the chunk is measured again.
        using var writing = await gate.EnterAsync(db, cancellationToken);
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
        foreach (var batch in events.Chunk(EventBatchSize))
            db.Publish(new ReadingBatchAccepted(batch, now));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static IngestResult Refused(ReadingRow row, DomainException refusal) =>
        new(row.Row, row.UserNumber, IngestOutcome.Refused,
            Field: (refusal as InvalidArgumentException)?.Field,
            Reason: refusal is InvalidArgumentException invalid ? invalid.Reason : refusal.Message);
}
