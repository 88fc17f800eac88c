using Metering.Billing.Data;
using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Metering.Billing.Events;

/// <summary>
/// Records an accepted reading's consumption as unbilled. It may arrive before the account's
/// AccountOpened (different queues); it is kept and billed once the account is known.
/// </summary>
public sealed class ReadingAcceptedConsumer(BillingDbContext db, TimeProvider clock)
    : IdempotentConsumer<BillingDbContext, ReadingAccepted>(db)
{
    protected override Task HandleAsync(ReadingAccepted message, CancellationToken cancellationToken) =>
        UnbilledConsumption.RecordAsync(Db, [message], clock.GetUtcNow().UtcDateTime, cancellationToken);
}

/// <summary>A bulk load's accepted readings: recorded together, in one transaction, each exactly as a single one.</summary>
public sealed class ReadingBatchAcceptedConsumer(BillingDbContext db, TimeProvider clock)
    : IdempotentConsumer<BillingDbContext, ReadingBatchAccepted>(db)
{
    protected override Task HandleAsync(ReadingBatchAccepted message, CancellationToken cancellationToken) =>
        UnbilledConsumption.RecordAsync(Db, message.Readings, clock.GetUtcNow().UtcDateTime, cancellationToken);
}

internal static class UnbilledConsumption
{
    public static async Task RecordAsync(BillingDbContext db, IReadOnlyList<ReadingAccepted> readings, DateTime now,
        CancellationToken cancellationToken)
    {
        // A contract breach, not a transient fault: it ends in the error queue for someone to look at.
        var backwards = readings.FirstOrDefault(r => r.ReadOn < r.PreviousReadOn);
        if (backwards is not null)
            throw new InvalidOperationException(
                $"reading {backwards.ReadingId} is dated {backwards.ReadOn} before its previous reading {backwards.PreviousReadOn}");

        // ReadingId is the business key: the same reading re-published under another message id is recorded once.
        var ids = readings.Select(r => r.ReadingId).ToList();
        var known = (await db.Consumptions.AsNoTracking()
            .Where(c => ids.Contains(c.ReadingId))
            .Select(c => c.ReadingId)
            .ToListAsync(cancellationToken)).ToHashSet();
        foreach (var reading in readings)
        {
            if (!known.Add(reading.ReadingId))
                continue;
            db.Consumptions.Add(new Consumption
            {
                ReadingId = reading.ReadingId,
                UserNumber = reading.UserNumber,
                PreviousReadOn = reading.PreviousReadOn,
                PreviousRegisterLitres = reading.PreviousRegisterLitres,
                ReadOn = reading.ReadOn,
                RegisterLitres = reading.RegisterLitres,
                ConsumptionLitres = reading.ConsumptionLitres,
                Kind = string.IsNullOrEmpty(reading.Kind) ? "actual" : reading.Kind,
                ReceivedAt = now,
            });
        }
    }
}
