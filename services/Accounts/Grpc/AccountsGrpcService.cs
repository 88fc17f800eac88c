using Grpc.Core;
using Metering.Accounts.Data;
using Metering.Accounts.Domain;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Account = Metering.Accounts.Data.Account;
using AccountStatus = Metering.Accounts.Data.AccountStatus;
using Proto = Metering.Contracts.Accounts.V1;

namespace Metering.Accounts.Grpc;

public sealed class AccountsGrpcService(
    AccountsDbContext db, UserNumberAllocator allocator, UtilityCalendar calendar, TimeProvider clock)
    : Proto.Accounts.AccountsBase
{
    public override async Task<Proto.Account> OpenAccount(OpenAccountRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var now = clock.GetUtcNow();
        var details = AccountDetails.Validate(request.HolderName, request.Address, request.Phone, request.Persons,
            request.MeterSerial, request.InitialRegisterLitres, request.OpenedOn, calendar.Today(now));

        var holder = await db.Accounts.AsNoTracking()
            .Where(a => a.MeterSerial == details.MeterSerial)
            .Select(a => a.UserNumber)
            .FirstOrDefaultAsync(ct);
        if (holder is not null)
            throw new AlreadyExistsException($"meter {details.MeterSerial} is already installed for account {holder}");

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var userNumber = (await allocator.AllocateAsync(1, ct))[0];
        var account = new Account
        {
            UserNumber = userNumber.Value,
            HolderName = details.HolderName,
            Address = details.Address,
            Phone = details.Phone,
            Persons = details.Persons,
            MeterSerial = details.MeterSerial,
            InitialRegisterLitres = details.InitialRegisterLitres,
            OpenedOn = details.OpenedOn,
            Status = AccountStatus.Open,
            CreatedAt = now.UtcDateTime,
        };
        db.Accounts.Add(account);
        db.Publish(new AccountOpened(account.UserNumber, account.HolderName, account.Address, account.Phone,
            account.Persons, account.MeterSerial, account.InitialRegisterLitres, account.OpenedOn, now));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return ToProto(account);
    }

    public override async Task<Proto.Account> GetAccount(GetAccountRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var account = await db.Accounts.AsNoTracking()
            .SingleOrDefaultAsync(a => a.UserNumber == userNumber.Value, context.CancellationToken)
            ?? throw new NotFoundException("account", userNumber.Value);
        return ToProto(account);
    }

    private static Proto.Account ToProto(Account account) => new()
    {
        UserNumber = account.UserNumber,
        HolderName = account.HolderName,
        Address = account.Address,
        Phone = account.Phone,
        Persons = account.Persons,
        MeterSerial = account.MeterSerial,
        InitialRegisterLitres = account.InitialRegisterLitres,
        OpenedOn = DateText.Format(account.OpenedOn),
        Status = account.Status == AccountStatus.Open ? Proto.AccountStatus.Open : Proto.AccountStatus.Closed,
    };
}
