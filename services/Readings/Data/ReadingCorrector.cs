using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Metering.Readings.Data;

/// <summary>A reading whose consumption changed, before and after.</summary>
public sealed record ConsumptionChanged(Reading Reading, long OldConsumptionLitres, long OldRegisterLitres);

/// <summary>
/// Operators' decisions on accepted readings: corrections (the reading's register changes, so its own
/// consumption and that of the reading after it change) and releases of held readings.
/// </summary>
public sealed class ReadingCorrector(ReadingsDbContext db, TimeProvider clock, IOptions<ReadingRules> rules, WriteGate gate)
{
    /// <summary>
    /// Corrects reading N's register. N and N+1 are measured again with the usual rules. A changed
    /// consumption that Billing already has goes out as <c>ReadingCorrected</c>; a held N is released
    /// with its corrected value (<c>ReadingAccepted</c>); a held N+1 just takes its new value.
    /// </summary>
    public async Task<(Reading Reading, List<ConsumptionChanged> Changes)> CorrectAsync(
        Guid readingId, long registerLitres, string reason, CancellationToken cancellationToken)
    {
        using var writing = await gate.EnterAsync(db, cancellationToken);
        var reading = await db.Readings.SingleOrDefaultAsync(r => r.Id == readingId, cancellationToken)
            ?? throw new NotFoundException("reading", readingId.ToString());
        if (reading.Kind == ReadingKind.Initial)
            throw new FailedPreconditionException(
                "a meter's initial reading is not corrected: it is the installation record of the meter");
        var account = await db.Accounts.SingleAsync(a => a.Id == reading.AccountId, cancellationToken);
        var meter = await db.Meters.AsNoTracking().SingleAsync(m => m.Id == reading.MeterId, cancellationToken);
        meter.Register.Check(registerLitres);
        if (registerLitres == reading.RegisterLitres)
            throw new FailedPreconditionException($"reading {readingId} already shows {registerLitres} L: nothing to correct");

        var next = await db.Readings
            .SingleOrDefaultAsync(r => r.AccountId == reading.AccountId && r.Sequence == reading.Sequence + 1, cancellationToken);
        // Everything before N: an estimate before it is measured through to the real reading behind it.
        var before = (await db.Readings.AsNoTracking()
                .Where(r => r.AccountId == reading.AccountId && r.Sequence < reading.Sequence)
                .OrderBy(r => r.Sequence)
                .ToListAsync(cancellationToken))
            .Select(ChainStore.ToChain).ToList();

        var (newConsumption, nextConsumption) = Corrections.Remeasure(before, ChainStore.ToChain(reading),
            next is null ? null : ChainStore.ToChain(next), registerLitres, meter.Register, rules.Value);

        var now = clock.GetUtcNow();
        var changes = new List<ConsumptionChanged>();
        db.Corrections.Add(new ReadingCorrection
        {
            ReadingId = reading.Id,
            AccountId = reading.AccountId,
            OldRegisterLitres = reading.RegisterLitres,
            NewRegisterLitres = registerLitres,
            OldConsumptionLitres = reading.ConsumptionLitres,
            NewConsumptionLitres = newConsumption,
            Reason = reason,
            CorrectedAt = now.UtcDateTime,
        });

        var old = reading.ConsumptionLitres;
        changes.Add(new ConsumptionChanged(reading, old, reading.RegisterLitres));
        var wasHeld = reading.Status == ReadingStatus.Held;
        reading.RegisterLitres = registerLitres;
        reading.ConsumptionLitres = newConsumption;
        reading.CorrectedAt = now.UtcDateTime;
        if (wasHeld)
        {
            // Billing never had it: the corrected reading goes out as accepted.
            reading.Status = ReadingStatus.Accepted;
            reading.ReleasedAt = now.UtcDateTime;
            db.Publish(ChainStore.Accepted(account.UserNumber, reading, now));
        }
        else if (old != newConsumption)
        {
            db.Publish(Corrected(account.UserNumber, reading, old, reason, now));
        }

        if (next is not null && nextConsumption is { } nextNew)
        {
            var nextOld = next.ConsumptionLitres;
            next.PreviousRegisterLitres = registerLitres;
            next.ConsumptionLitres = nextNew;
            if (nextOld != nextNew)
            {
                changes.Add(new ConsumptionChanged(next, nextOld, next.RegisterLitres));
                if (next.Status == ReadingStatus.Accepted)
                    db.Publish(Corrected(account.UserNumber, next,  nextOld,
                        $"the reading of {DateText.Format(reading.ReadOn)} before it was corrected: {reason}", now));
            }
        }
        // Touching the head token makes a correction and a new reading of the same account exclude each other.
        // A new reading moving the head, or another correction of this reading, makes this one lose.
        db.Entry(account).Property(a => a.LastReadingSequence).IsModified = true;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var unchanged = await db.Readings
            .Where(r => r.Id == readingId && r.RegisterLitres == changes[0].OldRegisterLitres && r.Status == (wasHeld ? ReadingStatus.Held : ReadingStatus.Accepted))
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.CorrectedAt, now.UtcDateTime), cancellationToken);
        try
        {
            if (unchanged == 0)
                throw new DbUpdateConcurrencyException("the reading changed meanwhile");
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            db.ChangeTracker.Clear();
            throw new FailedPreconditionException($"the readings of account {account.UserNumber} changed meanwhile; look again and retry");
        }
        return (reading, changes);
    }

    /// <summary>Releases a held reading to Billing as it stands.</summary>
    public async Task<Reading> ReleaseAsync(Guid readingId, CancellationToken cancellationToken)
    {
        using var writing = await gate.EnterAsync(db, cancellationToken);
        var reading = await db.Readings.SingleOrDefaultAsync(r => r.Id == readingId, cancellationToken)
            ?? throw new NotFoundException("reading", readingId.ToString());
        if (reading.Status != ReadingStatus.Held)
            throw new FailedPreconditionException($"reading {readingId} is not held: it was passed to Billing already");
        var userNumber = await db.Accounts.Where(a => a.Id == reading.AccountId).Select(a => a.UserNumber).SingleAsync(cancellationToken);
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Two operators releasing at once: only the update that still finds the reading held publishes it.
        var released = await db.Readings.Where(r => r.Id == readingId && r.Status == ReadingStatus.Held)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, ReadingStatus.Accepted).SetProperty(r => r.ReleasedAt, now.UtcDateTime),
                cancellationToken);
        if (released == 0)
            throw new FailedPreconditionException($"reading {readingId} is not held: it was passed to Billing already");
        db.Entry(reading).State = EntityState.Detached;
        reading.Status = ReadingStatus.Accepted;
        reading.ReleasedAt = now.UtcDateTime;
        db.Publish(ChainStore.Accepted(userNumber, reading, now));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return reading;
    }

    private static ReadingCorrected Corrected(string userNumber, Reading r, long oldConsumption, string reason, DateTimeOffset now) =>
        new(r.Id, userNumber, r.PreviousReadOn!.Value, r.ReadOn, oldConsumption, r.ConsumptionLitres,
            r.PreviousRegisterLitres ?? 0, r.RegisterLitres, reason, now);
}
