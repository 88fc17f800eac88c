using MassTransit;
using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Readings.Data;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Readings.Events;

/// <summary>
/// Projects a new account and its meter, with the meter's initial register as the first reading so
/// that the first actual reading has one to be measured from.
/// </summary>
public sealed class AccountOpenedConsumer(ReadingsDbContext db, TimeProvider clock, ILogger<AccountOpenedConsumer> logger)
    : IdempotentConsumer<ReadingsDbContext, AccountOpened>(db)
{
    protected override async Task HandleAsync(AccountOpened message, CancellationToken cancellationToken)
    {
        // The inbox stops a redelivery; the user number stops the same account sent under another message id.
        if (await Db.Accounts.AnyAsync(a => a.UserNumber == message.UserNumber, cancellationToken))
        {
            logger.LogInformation("Account {UserNumber} is known already; AccountOpened ignored", message.UserNumber);
            return;
        }

        var now = clock.GetUtcNow();
        var meter = new Meter
        {
            Serial = message.MeterSerial,
            CapacityLitres = MeterRegister.DefaultCapacityLitres,
            InitialRegisterLitres = message.InitialRegisterLitres,
            InstalledOn = message.OpenedOn,
        };
        var account = new Account
        {
            UserNumber = message.UserNumber,
            Status = AccountStatus.Open,
            OpenedOn = message.OpenedOn,
            CreatedAt = now.UtcDateTime,
            LastReadingSequence = 1,
            Meters = [meter],
        };
        Db.Accounts.Add(account);
        // Ids are generated on save; the initial reading needs both, so the account and meter go first (same transaction).
        await Db.SaveChangesAsync(cancellationToken);
        Db.Readings.Add(new Reading
        {
            Id = NewId.NextSequentialGuid(),
            AccountId = account.Id,
            MeterId = meter.Id,
            Sequence = 1,
            ReadOn = message.OpenedOn,
            RegisterLitres = message.InitialRegisterLitres,
            Kind = ReadingKind.Initial,
            Status = ReadingStatus.Accepted,
            ConsumptionLitres = 0,
            RecordedAt = now.UtcDateTime,
        });
    }
}
