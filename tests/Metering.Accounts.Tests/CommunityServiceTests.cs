using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Metering.Accounts.Data;
using Metering.Contracts.Accounts.V1;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

namespace Metering.Accounts.Tests;

public sealed class CommunityServiceTests : IDisposable
{
    private readonly ServiceFactory<AccountsModule> _host = new();

    public void Dispose() => _host.Dispose();

    private AccountsClient Client => new(_host.Channel);

    private static CreateCommunityRequest Xingfu() => new()
    {
        Name = "幸福小区", District = "东昌府区", Subdistrict = "古楼街道", CompletedOn = "1998-05-01",
        Land = LandTenure.StateOwned, Settlement = Settlement.City,
    };

    private async Task<int> CommunitiesStored()
    {
        using var scope = _host.Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<AccountsDbContext>().Communities.CountAsync();
    }

    [Fact]
    public async Task An_eligible_community_is_registered_with_its_district_and_subdistrict()
    {
        var community = await Client.CreateCommunityAsync(Xingfu());

        Assert.True(community.CommunityId > 0);
        Assert.Equal("东昌府区", community.District);
        Assert.Equal("古楼街道", community.Subdistrict);
        Assert.Equal("1998-05-01", community.CompletedOn);
    }

    [Fact]
    public async Task A_community_completed_after_2005_is_refused_with_the_reason_and_nothing_is_written()
    {
        var request = Xingfu();
        request.CompletedOn = "2006-03-01";
        request.ShantyTownRedevelopment = true;

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.CreateCommunityAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("after 2005-12-31", error.Status.Detail);
        Assert.Contains("shanty-town", error.Status.Detail);
        Assert.Equal(0, await CommunitiesStored());
    }

    [Fact]
    public async Task A_community_on_collective_land_in_a_village_is_refused()
    {
        var request = Xingfu();
        request.Land = LandTenure.Collective;
        request.Settlement = Settlement.Village;

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.CreateCommunityAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("state-owned land", error.Status.Detail);
        Assert.Contains("county town", error.Status.Detail);
    }

    [Theory]
    [InlineData("name")]
    [InlineData("completed_on")]
    [InlineData("land")]
    public async Task Missing_fields_are_refused_naming_the_field(string field)
    {
        var request = Xingfu();
        switch (field)
        {
            case "name": request.Name = " "; break;
            case "completed_on": request.CompletedOn = "1998/05/01"; break;
            case "land": request.Land = LandTenure.Unspecified; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.CreateCommunityAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail);
        Assert.Equal(0, await CommunitiesStored());
    }

    [Fact]
    public async Task The_same_community_twice_in_a_district_is_refused()
    {
        await Client.CreateCommunityAsync(Xingfu());

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.CreateCommunityAsync(Xingfu()).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
    }

    [Fact]
    public async Task Communities_are_registered_over_json_and_ineligible_ones_get_400()
    {
        using var http = _host.CreateClient();
        var ok = await http.PostAsJsonAsync("/v1/communities", new
        {
            name = "幸福小区", district = "东昌府区", subdistrict = "古楼街道", completedOn = "1998-05-01",
            land = "STATE_OWNED", settlement = "COUNTY_TOWN",
        });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var body = await ok.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("古楼街道", body.GetProperty("subdistrict").GetString());

        var refused = await http.PostAsJsonAsync("/v1/communities", new
        {
            name = "新村", district = "东昌府区", subdistrict = "古楼街道", completedOn = "1998-05-01",
            land = "STATE_OWNED", settlement = "CITY", slatedForDemolition = true,
        });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }
}
