using System.Globalization;
using Grpc.Core;
using Metering.Accounts.Data;
using Metering.Accounts.Domain;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Account = Metering.Accounts.Data.Account;
using AccountChange = Metering.Accounts.Data.AccountChange;
using AccountStatus = Metering.Accounts.Data.AccountStatus;
using Proto = Metering.Contracts.Accounts.V1;

namespace Metering.Accounts.Grpc;

// The hotline look-up and an account's life after opening: change of holder or persons, closing, history.
public sealed partial class AccountsGrpcService
{
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;

    public override async Task<SearchAccountsResponse> SearchAccounts(SearchAccountsRequest request, ServerCallContext context)
    {
        var phone = request.Phone?.Trim() ?? "";
        var name = request.HolderName?.Trim() ?? "";
        var address = request.Address?.Trim() ?? "";
        if (phone.Length == 0 && name.Length == 0 && address.Length == 0)
            throw new InvalidArgumentException("phone", "give at least one of phone, holder_name and address");
        // A fragment so short matches half the city: the hotline needs a few digits or characters to go on.
        if (phone.Length is > 0 and < 4 || phone.Length > 20 || !phone.All(c => char.IsAsciiDigit(c) || c is '-' or '+' or ' '))
            throw new InvalidArgumentException("phone", "must be 4 to 20 digits of the caller's phone number");
        if (name.Length > HouseholdDetails.MaxNameLength)
            throw new InvalidArgumentException("holder_name", $"must be at most {HouseholdDetails.MaxNameLength} characters");
        if (address.Length is 1 or > 200)
            throw new InvalidArgumentException("address", "must be 2 to 200 characters of the address");
        var pageSize = request.PageSize switch
        {
            0 => DefaultPageSize,
            >= 1 and <= MaxPageSize => request.PageSize,
            _ => throw new InvalidArgumentException("page_size", $"must be between 1 and {MaxPageSize}, got {request.PageSize}"),
        };
        long after = 0;
        if (!string.IsNullOrEmpty(request.PageToken)
            && !(long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out after) && after > 0))
            throw new InvalidArgumentException("page_token", "is not a token from a previous page");

        var query = db.Accounts.AsNoTracking().Where(a => a.Id > after);
        if (phone.Length > 0)
            query = query.Where(a => a.Phone.Contains(phone));
        if (name.Length > 0)
            query = query.Where(a => a.HolderName.StartsWith(name));
        if (address.Length > 0)
        {
            // Operators type the parts of an address they hear, separated by spaces: every part must match.
            foreach (var part in address.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                query = query.Where(a => a.Address.Contains(part));
        }
        var page = await query.OrderBy(a => a.Id).Take(pageSize + 1).ToListAsync(context.CancellationToken);
        var response = new SearchAccountsResponse { Accounts = { page.Take(pageSize).Select(ToProto) } };
        if (page.Count > pageSize)
            response.NextPageToken = page[pageSize - 1].Id.ToString(CultureInfo.InvariantCulture);
        return response;
    }

    public override async Task<Proto.Account> ChangeAccountDetails(ChangeAccountDetailsRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var now = clock.GetUtcNow();
        var userNumber = UserNumber.Parse(request.UserNumber);
        if (!request.HasHolderName && !request.HasPhone && !request.HasPersons)
            throw new InvalidArgumentException("holder_name", "give at least one of holder_name, phone and persons");
        var holder = request.HasHolderName ? Fields.Required(request.HolderName, "holder_name", HouseholdDetails.MaxNameLength) : null;
        var phone = request.HasPhone ? Fields.Phone(request.Phone) : null;
        int? persons = request.HasPersons ? Fields.Persons(request.Persons) : null;
        var effectiveOn = Fields.PastDate(request.EffectiveOn, "effective_on", calendar.Today(now));

        var account = await OpenAccountAsync(userNumber, ct);
        if (effectiveOn < account.OpenedOn)
            throw new InvalidArgumentException("effective_on",
                $"{DateText.Format(effectiveOn)} is before the account opened on {DateText.Format(account.OpenedOn)}");

        var changes = new List<AccountChange>();
        void Change(AccountChangeKind kind, string before, string after)
        {
            if (before != after)
                changes.Add(new AccountChange
                {
                    AccountId = account.Id, Kind = kind, EffectiveOn = effectiveOn, Before = before, After = after,
                    RecordedAt = now.UtcDateTime,
                });
        }
        if (holder is not null) Change(AccountChangeKind.HolderChanged, account.HolderName, holder);
        if (phone is not null) Change(AccountChangeKind.PhoneChanged, account.Phone, phone);
        if (persons is { } p) Change(AccountChangeKind.PersonsChanged, Persons(account.Persons), Persons(p));
        if (changes.Count == 0)
            throw new InvalidArgumentException(holder is not null ? "holder_name" : phone is not null ? "phone" : "persons",
                "is the same as the account already has: nothing to change");
        Metering.Hosting.Security.AuditBefore.Record(context, ToProto(account));

        account.HolderName = holder ?? account.HolderName;
        account.Phone = phone ?? account.Phone;
        account.Persons = persons ?? account.Persons;
        db.AccountChanges.AddRange(changes);
        db.Publish(new HouseholdDetailsChanged(account.UserNumber, account.HolderName, account.Address, account.Phone,
            account.Persons, effectiveOn, now));
        await db.SaveChangesAsync(ct);
        return ToProto(account);
    }

    public override async Task<Proto.Account> CloseAccount(CloseAccountRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var now = clock.GetUtcNow();
        var userNumber = UserNumber.Parse(request.UserNumber);
        var closedOn = Fields.PastDate(request.ClosedOn, "closed_on", calendar.Today(now));
        var reason = Fields.Required(request.Reason, "reason", 200);

        var account = await OpenAccountAsync(userNumber, ct);
        if (closedOn < account.OpenedOn)
            throw new InvalidArgumentException("closed_on",
                $"{DateText.Format(closedOn)} is before the account opened on {DateText.Format(account.OpenedOn)}");
        Metering.Hosting.Security.AuditBefore.Record(context, ToProto(account));
        account.Status = AccountStatus.Closed;
        account.ClosedOn = closedOn;
        account.ClosedReason = reason;
        db.AccountChanges.Add(new AccountChange
        {
            AccountId = account.Id, Kind = AccountChangeKind.Closed, EffectiveOn = closedOn, Before = "open", After = reason,
            RecordedAt = now.UtcDateTime,
        });
        db.Publish(new AccountClosed(account.UserNumber, closedOn, reason, now));
        await db.SaveChangesAsync(ct);
        return ToProto(account);
    }

    public override async Task<AccountHistory> GetAccountHistory(GetAccountHistoryRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var userNumber = UserNumber.Parse(request.UserNumber);
        var account = await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.UserNumber == userNumber.Value, ct)
            ?? throw new NotFoundException("account", userNumber.Value);
        var changes = await db.AccountChanges.AsNoTracking().Where(c => c.AccountId == account.Id).OrderBy(c => c.Id).ToListAsync(ct);
        var history = new AccountHistory { UserNumber = account.UserNumber };
        history.Changes.Add(new Proto.AccountChange
        {
            Kind = "OPENED", EffectiveOn = DateText.Format(account.OpenedOn), Before = "",
            After = $"{account.HolderName}, {account.Phone}, {Persons(account.Persons)}, meter {account.MeterSerial}",
            RecordedAt = Instant(account.CreatedAt),
        });
        history.Changes.AddRange(changes.Select(c => new Proto.AccountChange
        {
            Kind = c.Kind switch
            {
                AccountChangeKind.HolderChanged => "HOLDER_CHANGED",
                AccountChangeKind.PhoneChanged => "PHONE_CHANGED",
                AccountChangeKind.PersonsChanged => "PERSONS_CHANGED",
                _ => "CLOSED",
            },
            EffectiveOn = DateText.Format(c.EffectiveOn), Before = c.Before ?? "", After = c.After ?? "",
            RecordedAt = Instant(c.RecordedAt),
        }));
        return history;
    }

    /// <summary>The account to change; a closed account takes no more changes.</summary>
    private async Task<Account> OpenAccountAsync(UserNumber userNumber, CancellationToken ct)
    {
        var account = await db.Accounts.SingleOrDefaultAsync(a => a.UserNumber == userNumber.Value, ct)
            ?? throw new NotFoundException("account", userNumber.Value);
        if (account.Status == AccountStatus.Closed)
            throw new FailedPreconditionException($"account {account.UserNumber} was closed on {DateText.Format(account.ClosedOn)}");
        return account;
    }

    private static string Persons(int persons) => persons.ToString(CultureInfo.InvariantCulture) + (persons == 1 ? " person" : " persons");

    private static string Instant(DateTime utc) =>
        DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
