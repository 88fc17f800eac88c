using Grpc.Core;
using Metering.Accounts.Data;
using Metering.Contracts.Accounts.V1;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

namespace Metering.Accounts.Tests;

public sealed class HouseholdServiceTests : IDisposable
{
    private readonly ServiceFactory<AccountsModule> _host = new();

    public void Dispose() => _host.Dispose();

    private AccountsClient Client => new(_host.Channel);

    private async Task<long> ARiser()
    {
        var community = await Client.CreateCommunityAsync(new CreateCommunityRequest
        {
            Name = "幸福小区", District = "东昌府区", Subdistrict = "古楼街道", CompletedOn = "1998-05-01",
            Land = LandTenure.StateOwned, Settlement = Settlement.City,
        });
        var riser = await Client.CreateRiserAsync(new CreateRiserRequest { CommunityId = community.CommunityId, Building = "3号楼", Riser = "2单元" });
        return riser.RiserId;
    }

    private static AddHouseholdRequest Flat(long riserId, string unit = "301") => new()
    {
        RiserId = riserId, Unit = unit, HolderName = "王小红", Phone = "13800000001", Persons = 3,
    };

    private async Task<int> HouseholdsStored()
    {
        using var scope = _host.Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<AccountsDbContext>().Households.CountAsync();
    }

    [Fact]
    public async Task A_residential_household_is_added_to_its_riser()
    {
        var riserId = await ARiser();

        var household = await Client.AddHouseholdAsync(Flat(riserId));

        Assert.True(household.HouseholdId > 0);
        Assert.Equal(riserId, household.RiserId);
        Assert.Equal("301", household.Unit);
        Assert.Equal(1, await HouseholdsStored());
    }

    [Theory]
    [InlineData(SupplyPointKind.Fire, "fire")]
    [InlineData(SupplyPointKind.Shop, "shop")]
    [InlineData(SupplyPointKind.Gatehouse, "gatehouse")]
    public async Task A_public_supply_point_is_refused_with_the_reason(SupplyPointKind kind, string named)
    {
        var riserId = await ARiser();
        var request = Flat(riserId);
        request.Kind = kind;

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.AddHouseholdAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(named, error.Status.Detail);
        Assert.Equal(0, await HouseholdsStored());
    }

    [Fact]
    public async Task A_duplicate_unit_in_a_riser_is_refused()
    {
        var riserId = await ARiser();
        await Client.AddHouseholdAsync(Flat(riserId));

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.AddHouseholdAsync(Flat(riserId)).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Contains("301", error.Status.Detail);
        Assert.Equal(1, await HouseholdsStored());
    }

    [Theory]
    [InlineData("unit")]
    [InlineData("holder_name")]
    [InlineData("phone")]
    [InlineData("persons")]
    public async Task Bad_household_fields_are_refused_naming_the_field(string field)
    {
        var riserId = await ARiser();
        var request = Flat(riserId);
        switch (field)
        {
            case "unit": request.Unit = ""; break;
            case "holder_name": request.HolderName = new string('x', 51); break;
            case "phone": request.Phone = "call me"; break;
            case "persons": request.Persons = 0; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.AddHouseholdAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail);
        Assert.Equal(0, await HouseholdsStored());
    }

    [Fact]
    public async Task A_household_for_an_unknown_riser_is_not_found()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Client.AddHouseholdAsync(Flat(9999)).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }
}
