using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Payments.Data;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Events;

/// <summary>Opens the account's ledger, or fills in the holder of one that a bill opened first.</summary>
public sealed class AccountOpenedConsumer(PaymentsDbContext db, TimeProvider clock)
    : IdempotentConsumer<PaymentsDbContext, AccountOpened>(db)
{
    protected override async Task HandleAsync(AccountOpened message, CancellationToken cancellationToken)
    {
        var account = await Db.LedgerAccounts.SingleOrDefaultAsync(a => a.UserNumber == message.UserNumber, cancellationToken);
        if (account is null)
        {
            account = new LedgerAccount { UserNumber = message.UserNumber, CreatedAt = clock.GetUtcNow().UtcDateTime };
            Db.LedgerAccounts.Add(account);
        }
        account.HolderName = message.HolderName;
        account.Address = message.Address;
        account.OpenedOn = message.OpenedOn;
    }
}
