using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Readings.Data;
using Microsoft.EntityFrameworkCore;

namespace Metering.Readings.Events;

/// <summary>Marks the account closed: readings dated after the closing date are refused from now on.</summary>
public sealed class AccountClosedConsumer(ReadingsDbContext db, ILogger<AccountClosedConsumer> logger)
    : IdempotentConsumer<ReadingsDbContext, AccountClosed>(db)
{
    protected override async Task HandleAsync(AccountClosed message, CancellationToken cancellationToken)
    {
        var account = await Db.Accounts.SingleOrDefaultAsync(a => a.UserNumber == message.UserNumber, cancellationToken);
        if (account is null)
        {
            // AccountOpened may still be on its way (a retry can overtake it): fail, so the bus retries this one
            // later and, if the account never arrives, leaves it in the error queue for an operator.
            logger.LogWarning("AccountClosed for {UserNumber} arrived before the account is known", message.UserNumber);
            throw new InvalidOperationException($"account {message.UserNumber} is not known to Readings yet");
        }
        account.Status = AccountStatus.Closed;
        account.ClosedOn = message.ClosedOn;
        // Touching the chain head makes a reading racing with the close measure again and see it.
        Db.Entry(account).Property(a => a.LastReadingSequence).IsModified = true;
    }
}
