using Metering.Billing.Data;
using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Metering.Billing.Events;

/// <summary>Keeps Billing's projection of the accounts it bills (and, later, of their household size).</summary>
public sealed class AccountOpenedConsumer(BillingDbContext db, TimeProvider clock)
    : IdempotentConsumer<BillingDbContext, AccountOpened>(db)
{
    protected override async Task HandleAsync(AccountOpened message, CancellationToken cancellationToken)
    {
        // The inbox stops a redelivery; this stops a second event for the same account (a re-publish under a new id).
        if (await Db.Accounts.AnyAsync(a => a.UserNumber == message.UserNumber, cancellationToken))
            return;
        Db.Accounts.Add(new BillingAccount
        {
            UserNumber = message.UserNumber,
            Persons = message.Persons,
            OpenedOn = message.OpenedOn,
            InitialRegisterLitres = message.InitialRegisterLitres,
            ReceivedAt = clock.GetUtcNow().UtcDateTime,
        });
    }
}
