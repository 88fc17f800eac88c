using System.Text;
using Grpc.Core;
using Metering.Accounts.Data;
using Metering.Contracts.Accounts.V1;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Community = Metering.Contracts.Accounts.V1.Community;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

namespace Metering.Accounts.Tests;

/// <summary>The operator's steps through the programme, over the real gRPC surface, for tests to arrange their data.</summary>
public sealed class ProgrammeSteps(ServiceFactory<AccountsModule> host)
{
    public const string Header = "community,building,riser,unit,holder,phone,persons";

    public AccountsClient Client { get; } = new(host.Channel);

    public async Task<Community> Community(string name = "幸福小区", string district = "东昌府区") =>
        await Client.CreateCommunityAsync(new CreateCommunityRequest
        {
            Name = name, District = district, Subdistrict = "古楼街道", CompletedOn = "1998-05-01",
            Land = LandTenure.StateOwned, Settlement = Settlement.City,
        });

    /// <summary>A survey CSV of <paramref name="units"/> households on one riser of building 3.</summary>
    public static string Survey(string community, string riser, params string[] units)
    {
        var csv = new StringBuilder(Header).Append('\n');
        foreach (var unit in units)
            csv.Append($"{community},3号楼,{riser},{unit},住户{unit},1380000{unit.PadLeft(4, '0')},3\n");
        return csv.ToString();
    }

    public async Task<ImportSurveyResponse> Import(long communityId, string csv) =>
        await Client.ImportSurveyAsync(new ImportSurveyRequest { CommunityId = communityId, Csv = csv });

    /// <summary>A community with one surveyed riser; returns the riser with its households.</summary>
    public async Task<RiserDetail> SurveyedRiser(string riser = "2单元", params string[] units)
    {
        var community = await Community();
        var import = await Import(community.CommunityId, Survey(community.Name, riser, units.Length > 0 ? units : ["101", "102", "201"]));
        Assert.Equal(0, import.Refused);
        return await Client.GetRiserAsync(new GetRiserRequest { RiserId = import.Rows[0].RiserId });
    }

    public async Task ConsentAll(RiserDetail riser)
    {
        foreach (var household in riser.Households)
            await Client.RecordConsentAsync(new RecordConsentRequest
            {
                HouseholdId = household.HouseholdId, RiserId = riser.RiserId, Decision = ConsentDecision.Consented,
                SignedBy = household.HolderName, SignedOn = "2026-03-01",
            });
    }

    public static ConvertRiserRequest Conversion(RiserDetail riser, string serialPrefix = "M")
    {
        var request = new ConvertRiserRequest { RiserId = riser.RiserId, CompletedOn = "2026-04-15" };
        request.Meters.AddRange(riser.Households.Select(h => new InstalledMeter
        {
            Unit = h.Unit, MeterSerial = $"{serialPrefix}-{riser.RiserId}-{h.Unit}", InitialRegisterLitres = 12,
        }));
        return request;
    }

    public async Task<ConvertRiserResponse> ConvertedRiser(RiserDetail riser, string serialPrefix = "M")
    {
        await ConsentAll(riser);
        return await Client.ConvertRiserAsync(Conversion(riser, serialPrefix));
    }

    public async Task<T> Query<T>(Func<AccountsDbContext, Task<T>> query)
    {
        using var scope = host.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<AccountsDbContext>());
    }

    public Task<int> AccountsStored() => Query(db => db.Accounts.CountAsync());

    public Task<List<string>> OutboxTypes() =>
        Query(db => db.OutboxMessages.OrderBy(m => m.Id).Select(m => m.MessageType).ToListAsync());

    public static async Task<RpcException> Refused(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);
}
