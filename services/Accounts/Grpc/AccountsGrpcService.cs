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

public sealed partial class AccountsGrpcService(
    AccountsDbContext db, UserNumberAllocator allocator, UserNumberPlans plans, UtilityCalendar calendar, TimeProvider clock,
    BulkWriteGate bulkWrites)
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
        var name = Fields.Required(request.Name, "name", 100);
        var district = Fields.Required(request.District, "district", 50);
        var subdistrict = Fields.Required(request.Subdistrict, "subdistrict", 50);
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
            CreatedAt = clock.GetUtcNow().UtcDateTime, UserNumberPrefix = plans.PrefixFor(district),
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
        var building = Fields.Required(request.Building, "building", 20);
        var label = Fields.Required(request.Riser, "riser", 20);
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
        var details = HouseholdDetails.Validate(request.Unit, request.HolderName, request.Phone, request.Persons);
        var riser = await db.Risers.AsNoTracking().SingleOrDefaultAsync(r => r.Id == request.RiserId, ct)
            ?? throw new NotFoundException("riser", request.RiserId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (riser.ConvertedOn is not null)
            throw new FailedPreconditionException($"riser {request.RiserId} is already converted; a household cannot be added to it");
        if (await db.Households.AnyAsync(h => h.RiserId == request.RiserId && h.Unit == details.Unit, ct))
            throw new AlreadyExistsException($"unit {details.Unit} is already registered on riser {request.RiserId}");
        var household = new Data.Household
        {
            RiserId = request.RiserId, Unit = details.Unit, HolderName = details.HolderName, Phone = details.Phone,
            Persons = details.Persons,
        };
        db.Households.Add(household);
        await db.SaveChangesAsync(ct);
        return ToProto(household, userNumber: null);
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
        HouseholdId = account.HouseholdId ?? 0,
        ClosedOn = DateText.Format(account.ClosedOn),
    };
}
