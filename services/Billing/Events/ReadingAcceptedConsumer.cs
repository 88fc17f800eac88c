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
    protected override async Task HandleAsync(ReadingAccepted message, CancellationToken cancellationToken)
    {
        // A contract breach, not a transient fault: it ends in the error queue for someone to look at.
        if (message.ReadOn < message.PreviousReadOn)
            throw new InvalidOperationException(
                $"reading {message.ReadingId} is dated {message.ReadOn} before its previous reading {message.PreviousReadOn}");

        // ReadingId is the business key: the same reading re-published under another message id is recorded once.
        if (await Db.Consumptions.AnyAsync(c => c.ReadingId == message.ReadingId, cancellationToken))
            return;
        Db.Consumptions.Add(new Consumption
        {
            ReadingId = message.ReadingId,
            UserNumber = message.UserNumber,
            PreviousReadOn = message.PreviousReadOn,
            PreviousRegisterLitres = message.PreviousRegisterLitres,
            ReadOn = message.ReadOn,
            RegisterLitres = message.RegisterLitres,
            ConsumptionLitres = message.ConsumptionLitres,
            Kind = string.IsNullOrEmpty(message.Kind) ? "actual" : message.Kind,
            ReceivedAt = clock.GetUtcNow().UtcDateTime,
        });
    }
}
