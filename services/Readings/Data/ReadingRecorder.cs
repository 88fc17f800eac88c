using MassTransit;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Metering.Readings.Data;

/// <summary>
/// Records single readings, estimates and meter replacements into an account's chain: each new
/// reading is measured from the chain head and becomes the new head, with its <c>ReadingAccepted</c>
/// in the same SaveChanges (none while it is held).
/// </summary>
public sealed class ReadingRecorder(IServiceProvider services, TimeProvider clock, IOptions<ReadingRules> rules, WriteGate gate,
    ReadingBatcher batcher, ILogger<ReadingRecorder> logger)
{
    /// <summary>A conflict means another reading of the account committed first; measuring again from it usually settles it.</summary>
    public const int MaxAttempts = 3;

    private ReadingRules Rules => rules.Value;

    // Resolved when first needed: a reading the group commit records never uses the request's own context.
    private ReadingsDbContext? _db;

    private ReadingsDbContext Db => _db ??= services.GetRequiredService<ReadingsDbContext>();

    /// <summary>Records an actual reading, or answers the one already recorded on that date with that value.</summary>
    public Task<Recorded> RecordActualAsync(UserNumber userNumber, NewReading input, CancellationToken cancellationToken) =>
        RecordAsync(userNumber, input.ReadOn, (chain, id) => chain.RecordActual(input, Rules, id), cancellationToken);

    public Task<Recorded> RecordEstimateAsync(UserNumber userNumber, DateOnly readOn, CancellationToken cancellationToken) =>
        RecordAsync(userNumber, readOn, (chain, id) => chain.RecordEstimate(readOn, Rules, id), cancellationToken);

    /// <summary>
    /// The old meter's final reading (measured from the chain head like any reading, and billed) and the new
    /// meter with its initial reading, which becomes the head: the next reading is measured from it, so the
    /// period's consumption is (old final − last old reading) + (new reading − new initial).
    /// </summary>
    public async Task<(Reading Final, Reading Initial, Meter NewMeter)> ReplaceMeterAsync(
        UserNumber userNumber, DateOnly replacedOn, long oldFinalLitres, string newSerial, MeterRegister newRegister,
        long newInitialLitres, CancellationToken cancellationToken)
    {
        newRegister.Check(newInitialLitres, "new_initial_register_litres");
        using var writing = await gate.EnterAsync(Db, cancellationToken);
        var loaded = await LoadOneAsync(userNumber, replacedOn, cancellationToken);
        var (account, oldMeter, chain) = loaded;
        oldMeter.Register.Check(oldFinalLitres, "old_final_register_litres");
        if (replacedOn < oldMeter.InstalledOn)
            throw new InvalidArgumentException("replaced_on",
                $"{DateText.Format(replacedOn)} is before the old meter's installation on {DateText.Format(oldMeter.InstalledOn)}");
        if (account.Status == AccountStatus.Closed)
            throw new FailedPreconditionException($"account {userNumber.Value} is closed: its meter is not replaced");
        var consumption = Consumption.Measure(chain.PreviousOfHead(), replacedOn, oldFinalLitres, oldMeter.Register, Rules);

        var now = clock.GetUtcNow();
        var head = chain.Head;
        // One transaction: the new meter's id is needed by its initial reading, so there are two saves.
        await using var transaction = await Db.Database.BeginTransactionAsync(cancellationToken);
        var final = new Reading
        {
            Id = NewId.NextSequentialGuid(),
            AccountId = account.Id,
            MeterId = oldMeter.Id,
            Sequence = head.Sequence + 1,
            ReadOn = replacedOn,
            RegisterLitres = oldFinalLitres,
            Kind = ReadingKind.Final,
            Status = ReadingStatus.Accepted,
            ConsumptionLitres = consumption,
            PreviousReadOn = head.ReadOn,
            PreviousRegisterLitres = head.RegisterLitres,
            RecordedAt = now.UtcDateTime,
        };
        var newMeter = new Meter
        {
            AccountId = account.Id,
            Serial = newSerial,
            CapacityLitres = newRegister.CapacityLitres,
            InitialRegisterLitres = newInitialLitres,
            InstalledOn = replacedOn,
        };
        Db.Meters.Attach(oldMeter);
        oldMeter.RemovedOn = replacedOn;
        Db.Meters.Add(newMeter);
        Db.Readings.Add(final);
        Db.Publish(ChainStore.Accepted(account.UserNumber, final, now));
        await Db.SaveChangesAsync(cancellationToken);

        var initial = new Reading
        {
            Id = NewId.NextSequentialGuid(),
            AccountId = account.Id,
            MeterId = newMeter.Id,
            Sequence = final.Sequence + 1,
            ReadOn = replacedOn,
            RegisterLitres = newInitialLitres,
            Kind = ReadingKind.Initial,
            Status = ReadingStatus.Accepted,
            ConsumptionLitres = 0,
            RecordedAt = now.UtcDateTime,
        };
        Db.Readings.Add(initial);
        account.LastReadingSequence = initial.Sequence;
        await Db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (final, initial, newMeter);
    }

    /// <summary>On SQLite through the group commit; what it hands back (and everything on SQL Server) on its own.</summary>
    private async Task<Recorded> RecordAsync(UserNumber userNumber, DateOnly readOn, Func<ReadingChain, Guid, Recorded> record,
        CancellationToken cancellationToken)
    {
        if (batcher.Enabled && await batcher.RecordAsync(userNumber, readOn, record, cancellationToken) is { } recorded)
            return recorded;
        return await WithRetryAsync(userNumber, readOn, record, cancellationToken);
    }

    private async Task<Recorded> WithRetryAsync(UserNumber userNumber, DateOnly readOn,
        Func<ReadingChain, Guid, Recorded> record, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Reading runs alongside other requests (WAL); only the write queues behind the gate.
                var loaded = await LoadOneAsync(userNumber, readOn, cancellationToken);
                var now = clock.GetUtcNow();
                var recorded = record(loaded.Chain, NewId.NextSequentialGuid());
                if (recorded.Outcome == RecordOutcome.Duplicate)
                    return recorded;
                foreach (var message in ChainStore.Stage(Db, loaded, now))
                    Db.Publish(message);
                // Moving the head checks the concurrency token: if another reading moved it first, nothing here commits.
                using (await gate.EnterAsync(Db, cancellationToken))
                    await Db.SaveChangesAsync(cancellationToken);
                return recorded;
            }
            // The token on the chain head, or else the unique (account, sequence) index, stops the loser of a race.
            catch (DbUpdateException) when (attempt < MaxAttempts)
            {
                Db.ChangeTracker.Clear();
                logger.LogInformation("Reading of {UserNumber} on {ReadOn} lost a race (attempt {Attempt}); measuring again",
                    userNumber.Value, DateText.Format(readOn), attempt);
            }
            catch (DbUpdateException)
            {
                Db.ChangeTracker.Clear();
                throw new FailedPreconditionException(
                    $"the readings of account {userNumber.Value} kept changing while this one was recorded; send it again");
            }
        }
    }

    /// <summary>The account's chain with the readings of the 12 months before <paramref name="readOn"/> (averages, duplicates).</summary>
    private async Task<LoadedChain> LoadOneAsync(UserNumber userNumber, DateOnly readOn, CancellationToken cancellationToken)
    {
        var chains = await ChainStore.LoadAsync(Db, [userNumber.Value], readOn, readOn, cancellationToken);
        return chains.TryGetValue(userNumber.Value, out var loaded)
            ? loaded
            : throw new NotFoundException("account", userNumber.Value,
                "Readings learns of new accounts from Accounts, so one opened moments ago may not have arrived yet");
    }
}
