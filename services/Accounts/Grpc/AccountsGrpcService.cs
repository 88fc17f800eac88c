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

    public override async Task<Proto.Community> CreateCommunity(CreateCommunityRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var name = Required(request.Name, "name", 100);
        var district = Required(request.District, "district", 50);
        var subdistrict = Required(request.Subdistrict, "subdistrict", 50);
        var completedOn = DateText.Parse(request.CompletedOn, "completed_on");
        var land = request.Land switch
        {
            Proto.LandTenure.StateOwned => Domain.LandTenure.StateOwned,
            Proto.LandTenure.Collective => Domain.LandTenure.Collective,
            _ => throw new InvalidArgumentException("land", "must be STATE_OWNED or COLLECTIVE"),
        };
        var settlement = request.Settlement switch
        {
            Proto.Settlement.City => Domain.Settlement.City,
            Proto.Settlement.CountyTown => Domain.Settlement.CountyTown,
            Proto.Settlement.Township => Domain.Settlement.Township,
            Proto.Settlement.Village => Domain.Settlement.Village,
            _ => throw new InvalidArgumentException("settlement", "must be CITY, COUNTY_TOWN, TOWNSHIP or VILLAGE"),
        };
        CommunityEligibility.Require(name, new CommunityFacts(
            completedOn, land, settlement, request.SlatedForDemolition, request.ShantyTownRedevelopment));
        if (await db.Communities.AnyAsync(c => c.District == district && c.Name == name, ct))
            throw new AlreadyExistsException($"community '{name}' is already registered in {district}");

        var community = new Data.Community
        {
            Name = name, District = district, Subdistrict = subdistrict, CompletedOn = completedOn,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.Communities.Add(community);
        await db.SaveChangesAsync(ct);
        return new Proto.Community
        {
            CommunityId = community.Id, Name = name, District = district, Subdistrict = subdistrict,
            CompletedOn = DateText.Format(completedOn),
        };
    }

    public override async Task<Proto.Riser> CreateRiser(CreateRiserRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var building = Required(request.Building, "building", 20);
        var label = Required(request.Riser, "riser", 20);
        if (!await db.Communities.AnyAsync(c => c.Id == request.CommunityId, ct))
            throw new NotFoundException("community", request.CommunityId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (await db.Risers.AnyAsync(r => r.CommunityId == request.CommunityId && r.Building == building && r.Label == label, ct))
            throw new AlreadyExistsException($"riser {building}-{label} is already registered in community {request.CommunityId}");
        var riser = new Data.Riser { CommunityId = request.CommunityId, Building = building, Label = label };
        db.Risers.Add(riser);
        await db.SaveChangesAsync(ct);
        return new Proto.Riser { RiserId = riser.Id, CommunityId = riser.CommunityId, Building = building, Riser_ = label };
    }

    public override async Task<Proto.Household> AddHousehold(AddHouseholdRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var kind = request.Kind switch
        {
            Proto.SupplyPointKind.Unspecified or Proto.SupplyPointKind.Residential => Domain.SupplyPointKind.Residential,
            Proto.SupplyPointKind.Fire => Domain.SupplyPointKind.Fire,
            Proto.SupplyPointKind.Gatehouse => Domain.SupplyPointKind.Gatehouse,
            Proto.SupplyPointKind.Greening => Domain.SupplyPointKind.Greening,
            Proto.SupplyPointKind.Shop => Domain.SupplyPointKind.Shop,
            Proto.SupplyPointKind.SingleStoreyHouse => Domain.SupplyPointKind.SingleStoreyHouse,
            _ => throw new InvalidArgumentException("kind", $"unknown supply point kind {request.Kind}"),
        };
        SupplyPoints.RequireResidential(kind);
        var unit = Required(request.Unit, "unit", 20);
        var holder = Required(request.HolderName, "holder_name", 50);
        var phone = Required(request.Phone, "phone", 20);
        if (!phone.All(c => char.IsAsciiDigit(c) || c is '-' or '+' or ' ') || phone.Count(char.IsAsciiDigit) < 7)
            throw new InvalidArgumentException("phone", "must be a phone number of at least 7 digits (digits, spaces, '-' or '+')");
        if (request.Persons is < 1 or > AccountDetails.MaxPersons)
            throw new InvalidArgumentException("persons", $"must be between 1 and {AccountDetails.MaxPersons}, got {request.Persons}");
        if (!await db.Risers.AnyAsync(r => r.Id == request.RiserId, ct))
            throw new NotFoundException("riser", request.RiserId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (await db.Households.AnyAsync(h => h.RiserId == request.RiserId && h.Unit == unit, ct))
            throw new AlreadyExistsException($"unit {unit} is already registered on riser {request.RiserId}");
        var household = new Data.Household
        {
            RiserId = request.RiserId, Unit = unit, HolderName = holder, Phone = phone, Persons = request.Persons,
        };
        db.Households.Add(household);
        await db.SaveChangesAsync(ct);
        return new Proto.Household
        {
            HouseholdId = household.Id, RiserId = household.RiserId, Unit = unit, HolderName = holder, Phone = phone,
            Persons = household.Persons,
        };
    }

    private static string Required(string? value, string field, int maxLength)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
            throw new InvalidArgumentException(field, "is required");
        if (trimmed.Length > maxLength)
            throw new InvalidArgumentException(field, $"must be at most {maxLength} characters, got {trimmed.Length}");
        return trimmed;
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
