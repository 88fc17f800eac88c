using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Readings.Data;

/// <summary>
/// Records readings into an account's chain: each one is measured from the chain head and becomes
/// the new head, with its <c>ReadingAccepted</c> in the same SaveChanges. One class for the RPC and,
/// later, for bulk ingestion, so both apply the same rules.
/// </summary>
public sealed class ReadingRecorder(ReadingsDbContext db, TimeProvider clock, ILogger<ReadingRecorder> logger)
{
    /// <summary>A conflict means another reading of the account committed first; measuring again from it usually settles it.</summary>
    public const int MaxAttempts = 3;

    /// <summary>Records an actual reading, or answers the one already recorded on that date with that value.</summary>
    public async Task<Reading> RecordActualAsync(UserNumber userNumber, NewReading input, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await TryRecordActualAsync(userNumber, input, cancellationToken);
            }
            // The token on the chain head, or else the unique (account, sequence) index, stops the loser of a race.
            catch (DbUpdateException) when (attempt < MaxAttempts)
            {
                db.ChangeTracker.Clear();
                logger.LogInformation("Reading of {UserNumber} on {ReadOn} lost a race (attempt {Attempt}); measuring again",
                    userNumber.Value, DateText.Format(input.ReadOn), attempt);
            }
            catch (DbUpdateConcurrencyException)
            {
                db.ChangeTracker.Clear();
                throw new FailedPreconditionException(
                    $"the readings of account {userNumber.Value} kept changing while this one was recorded; send it again");
            }
        }
    }

    private async Task<Reading> TryRecordActualAsync(UserNumber userNumber, NewReading input, CancellationToken cancellationToken)
    {
        var account = await db.Accounts.Include(a => a.Meters)
            .SingleOrDefaultAsync(a => a.UserNumber == userNumber.Value, cancellationToken)
            ?? throw new NotFoundException("account", userNumber.Value,
                "Readings learns of new accounts from Accounts, so one opened moments ago may not have arrived yet");
        var meter = account.Meters.Single(m => m.RemovedOn == null);
        meter.Register.Check(input.RegisterLitres);

        // The same reading sent again (a client retry) gets the first answer and no second event.
        var sameDay = await db.Readings.AsNoTracking()
            .Where(r => r.AccountId == account.Id && r.ReadOn == input.ReadOn && r.Kind == ReadingKind.Actual)
            .FirstOrDefaultAsync(cancellationToken);
        if (sameDay is not null)
        {
            if (sameDay.RegisterLitres == input.RegisterLitres)
                return sameDay;
            throw new FailedPreconditionException(
                $"account {userNumber.Value} already has a reading of {sameDay.RegisterLitres} L on {DateText.Format(input.ReadOn)}; " +
                "a different value for that date needs a correction");
        }

        if (account.Status == AccountStatus.Closed)
            throw new FailedPreconditionException($"account {userNumber.Value} is closed: it takes no more readings");

        var previous = await db.Readings.AsNoTracking()
            .SingleAsync(r => r.AccountId == account.Id && r.Sequence == account.LastReadingSequence, cancellationToken);
        var consumption = Consumption.Measure(
            new PreviousReading(previous.ReadOn, previous.RegisterLitres, previous.Kind), input.ReadOn, input.RegisterLitres);

        var now = clock.GetUtcNow();
        var reading = new Reading
        {
            Id = Guid.CreateVersion7(now),
            AccountId = account.Id,
            MeterId = meter.Id,
            Sequence = previous.Sequence + 1,
            ReadOn = input.ReadOn,
            RegisterLitres = input.RegisterLitres,
            Kind = ReadingKind.Actual,
            Status = ReadingStatus.Accepted,
            ConsumptionLitres = consumption,
            PreviousReadOn = previous.ReadOn,
            PreviousRegisterLitres = previous.RegisterLitres,
            RecordedAt = now.UtcDateTime,
        };
        db.Readings.Add(reading);
        // Moving the head checks the concurrency token: if another reading moved it first, nothing here commits.
        account.LastReadingSequence = reading.Sequence;
        db.Publish(new ReadingAccepted(reading.Id, account.UserNumber, previous.ReadOn, previous.RegisterLitres,
            reading.ReadOn, reading.RegisterLitres, reading.ConsumptionLitres, KindName(reading.Kind), now));
        await db.SaveChangesAsync(cancellationToken);
        return reading;
    }

    /// <summary>The kind as events and the proto spell it: <c>ACTUAL</c>, <c>ESTIMATED</c>.</summary>
    public static string KindName(ReadingKind kind) => kind.ToString().ToUpperInvariant();
}
