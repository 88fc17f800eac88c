using Metering.Contracts.Events;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Readings.Data;

/// <summary>An account (tracked: its chain head is the concurrency token), its current meter and its chain.</summary>
public sealed record LoadedChain(Account Account, Meter Meter, ReadingChain Chain);

/// <summary>
/// Loads reading chains in bulk (four queries for any number of accounts) and writes back what the
/// chains added. Single readings and bulk loads both go through it.
/// </summary>
public static class ChainStore
{
    /// <param name="firstReadOn">The earliest date the caller will record into these chains.</param>
    /// <param name="lastReadOn">The latest date the caller will record into these chains.</param>
    /// <param name="track">Track the accounts, so that <see cref="Stage"/> can move their heads through EF Core.</param>
    public static async Task<Dictionary<string, LoadedChain>> LoadAsync(
        ReadingsDbContext db, IReadOnlyCollection<string> userNumbers, DateOnly firstReadOn, DateOnly lastReadOn,
        CancellationToken cancellationToken, bool track = true)
    {
        // Bulk chunks and group-committed readings on SQLite: plain readers (EF Core's materialisation cost more than
        // the queries), and the older part of the 12 months summed by SQLite rather than loaded.
        if (!track && db.Database.IsSqlite())
            return await SqliteChainReader.LoadAsync(db, userNumbers, firstReadOn, lastReadOn, cancellationToken);
        // Every reading of the 12 months before the earliest date (averages, duplicates).
        var since = firstReadOn.AddDays(-UsageHistory.WindowDays - 1);
        // EF.Parameter sends each list as one (JSON) parameter: a chunk's thousands of keys would otherwise be
        // thousands of SQL parameters, a new statement to compile for every chunk size.
        var numbers = userNumbers.Distinct().ToList();
        var accountQuery = db.Accounts.Where(a => EF.Parameter(numbers).Contains(a.UserNumber));
        var accounts = await (track ? accountQuery : accountQuery.AsNoTracking()).ToListAsync(cancellationToken);
        var ids = accounts.Select(a => a.Id).ToList();
        var meters = await db.Meters.AsNoTracking()
            .Where(m => EF.Parameter(ids).Contains(m.AccountId) && m.RemovedOn == null)
            .ToDictionaryAsync(m => m.AccountId, cancellationToken);
        // Projected straight into the chain's records: no entities to materialise for thousands of rows.
        var recent = (await db.Readings.AsNoTracking()
                .Where(r => EF.Parameter(ids).Contains(r.AccountId) && r.ReadOn >= since)
                .Select(r => new { r.AccountId, Reading = new ChainReading(r.Id, r.Sequence, r.ReadOn, r.RegisterLitres, r.Kind, r.Status,
                    r.ConsumptionLitres, r.PreviousReadOn, r.PreviousRegisterLitres, r.HoldReason) })
                .ToListAsync(cancellationToken))
            .ToLookup(r => r.AccountId, r => r.Reading);
        // A head older than the window (an account not read for a year) is fetched on its own.
        var headSequences = accounts.ToDictionary(a => a.Id, a => a.LastReadingSequence);
        var heads = new Dictionary<long, ChainReading>(accounts.Count);
        foreach (var group in recent)
            foreach (var r in group)
                if (r.Sequence == headSequences[group.Key])
                    heads[group.Key] = r;
        var missing = ids.Where(id => !heads.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            var older = await (
                    from a in db.Accounts.Where(a => EF.Parameter(missing).Contains(a.Id))
                    join r in db.Readings on new { A = a.Id, S = a.LastReadingSequence } equals new { A = r.AccountId, S = r.Sequence }
                    select r)
                .AsNoTracking().ToListAsync(cancellationToken);
            foreach (var r in older)
                heads[r.AccountId] = ToChain(r);
        }

        var chains = new Dictionary<string, LoadedChain>(accounts.Count);
        foreach (var account in accounts)
        {
            var meter = meters[account.Id];
            var chain = new ReadingChain(account.UserNumber, account.Status == AccountStatus.Closed, account.ClosedOn,
                meter.Register, meter.InstalledOn, heads[account.Id], recent[account.Id]);
            chains[account.UserNumber] = new LoadedChain(account, meter, chain);
        }
        return chains;
    }

    /// <summary>Adds the chain's new readings, moves the head (checked by the concurrency token) and returns the events to publish.</summary>
    public static List<ReadingAccepted> Stage(ReadingsDbContext db, LoadedChain loaded, DateTimeOffset now)
    {
        var events = new List<ReadingAccepted>();
        foreach (var added in loaded.Chain.Added)
        {
            db.Readings.Add(new Reading
            {
                Id = added.Id,
                AccountId = loaded.Account.Id,
                MeterId = loaded.Meter.Id,
                Sequence = added.Sequence,
                ReadOn = added.ReadOn,
                RegisterLitres = added.RegisterLitres,
                Kind = added.Kind,
                Status = added.Status,
                ConsumptionLitres = added.ConsumptionLitres,
                PreviousReadOn = added.PreviousReadOn,
                PreviousRegisterLitres = added.PreviousRegisterLitres,
                HoldReason = added.HoldReason,
                RecordedAt = now.UtcDateTime,
            });
            // Held readings reach Billing only when an operator releases or corrects them.
            if (added.Status == ReadingStatus.Accepted)
                events.Add(Accepted(loaded.Account.UserNumber, added, now));
        }
        if (loaded.Chain.Added.Count > 0)
            loaded.Account.LastReadingSequence = loaded.Chain.Head.Sequence;
        loaded.Chain.Added.Clear();
        return events;
    }

    public static ReadingAccepted Accepted(string userNumber, ChainReading r, DateTimeOffset now) =>
        new(r.Id, userNumber, r.PreviousReadOn!.Value, r.PreviousRegisterLitres ?? 0, r.ReadOn, r.RegisterLitres,
            r.ConsumptionLitres, KindName(r.Kind), now);

    public static ReadingAccepted Accepted(string userNumber, Reading r, DateTimeOffset now) =>
        new(r.Id, userNumber, r.PreviousReadOn!.Value, r.PreviousRegisterLitres ?? 0, r.ReadOn, r.RegisterLitres,
            r.ConsumptionLitres, KindName(r.Kind), now);

    /// <summary>
    /// The kind as events spell it: <c>ACTUAL</c>, <c>ESTIMATED</c>. A replaced meter's final reading is an
    /// actual reading of that meter, so Billing sees <c>ACTUAL</c>.
    /// </summary>
    public static string KindName(ReadingKind kind) => kind == ReadingKind.Final ? "ACTUAL" : kind.ToString().ToUpperInvariant();

    public static ChainReading ToChain(Reading r) => new(r.Id, r.Sequence, r.ReadOn, r.RegisterLitres, r.Kind, r.Status,
        r.ConsumptionLitres, r.PreviousReadOn, r.PreviousRegisterLitres, r.HoldReason);
}
