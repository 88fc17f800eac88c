using Metering.Billing.Data;
using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Metering.Billing.Events;

/// <summary>Keeps Billing's projection of the accounts it bills and of their household size.</summary>
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
        // A HouseholdDetailsChanged may have overtaken this event; its later size stands.
        if (!await Db.HouseholdSizes.AnyAsync(h => h.UserNumber == message.UserNumber && h.EffectiveOn <= message.OpenedOn, cancellationToken))
            Db.HouseholdSizes.Add(new HouseholdSizeRow { UserNumber = message.UserNumber, EffectiveOn = message.OpenedOn, Persons = message.Persons });
    }
}

/// <summary>
/// A household's registered persons changed from a day on: the large-household rule uses the new size for
/// consumption on and after that day (earlier consumption, even if billed later, keeps the old size).
/// </summary>
public sealed class HouseholdDetailsChangedConsumer(BillingDbContext db)
    : IdempotentConsumer<BillingDbContext, HouseholdDetailsChanged>(db)
{
    protected override async Task HandleAsync(HouseholdDetailsChanged message, CancellationToken cancellationToken)
    {
        var size = await Db.HouseholdSizes.SingleOrDefaultAsync(
            h => h.UserNumber == message.UserNumber && h.EffectiveOn == message.EffectiveOn, cancellationToken);
        if (size is null)
            Db.HouseholdSizes.Add(new HouseholdSizeRow { UserNumber = message.UserNumber, EffectiveOn = message.EffectiveOn, Persons = message.Persons });
        else
            size.Persons = message.Persons;
        var account = await Db.Accounts.SingleOrDefaultAsync(a => a.UserNumber == message.UserNumber, cancellationToken);
        if (account is not null)
            account.Persons = message.Persons;
    }
}

/// <summary>Records the closing day; consumption up to it is still billed by the next run.</summary>
public sealed class AccountClosedConsumer(BillingDbContext db)
    : IdempotentConsumer<BillingDbContext, AccountClosed>(db)
{
    protected override async Task HandleAsync(AccountClosed message, CancellationToken cancellationToken)
    {
        // Retried until the account's AccountOpened (on the same queue, but perhaps redelivered later) is in.
        var account = await Db.Accounts.SingleOrDefaultAsync(a => a.UserNumber == message.UserNumber, cancellationToken)
            ?? throw new InvalidOperationException($"account {message.UserNumber} is closed before Billing heard it was opened");
        account.ClosedOn = message.ClosedOn;
    }
}

/// <summary>Keeps what the account owes per Payments, shown on the next bill as the balance brought forward.</summary>
public sealed class PaymentAllocatedConsumer(BillingDbContext db)
    : IdempotentConsumer<BillingDbContext, PaymentAllocated>(db)
{
    protected override async Task HandleAsync(PaymentAllocated message, CancellationToken cancellationToken)
    {
        var account = await Db.Accounts.SingleOrDefaultAsync(a => a.UserNumber == message.UserNumber, cancellationToken);
        var at = message.OccurredAt.UtcDateTime;
        if (account is null || account.BalanceAt > at)
            return;
        account.BalanceFen = message.BalanceFen;
        account.BalanceAt = at;
    }
}
