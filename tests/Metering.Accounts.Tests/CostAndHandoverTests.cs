using System.Net;
using System.Text;
using Grpc.Core;
using Metering.Contracts.Accounts.V1;
using Metering.Hosting.Grpc;
using Metering.Testing;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

namespace Metering.Accounts.Tests;

public sealed class CostAndHandoverTests : IDisposable
{
    private readonly ServiceFactory<AccountsModule> _host = new();
    private readonly ProgrammeSteps _steps;

    public CostAndHandoverTests() => _steps = new ProgrammeSteps(_host);

    public void Dispose() => _host.Dispose();

    private AccountsClient Client => _steps.Client;

    [Fact]
    public async Task Cost_shares_are_reported_per_riser_community_and_district_with_fees_collected_and_outstanding()
    {
        var community = await _steps.Community();
        await _steps.Import(community.CommunityId, ProgrammeSteps.Survey("幸福小区", "1单元", "101", "102") +
            ProgrammeSteps.Survey("幸福小区", "2单元", "101", "102", "201")[(ProgrammeSteps.Header.Length + 1)..]);
        var risers = (await Client.ListRisersAsync(new ListRisersRequest { CommunityId = community.CommunityId })).Risers;
        await _steps.ConvertedRiser(risers[0]);
        await _steps.ConvertedRiser(risers[1]);
        // 2 households at 2 500 CNY each; 3 households at 1 000 CNY each.
        await Client.SetRiserCostAsync(new SetRiserCostRequest { RiserId = risers[0].RiserId, ActualCostFen = 5000_00 });
        await Client.SetRiserCostAsync(new SetRiserCostRequest { RiserId = risers[1].RiserId, ActualCostFen = 3000_00 });
        await Client.RecordResidentFeeAsync(new RecordResidentFeeRequest { HouseholdId = risers[0].Households[0].HouseholdId, AmountFen = 350_00, PaidOn = "2026-04-20" });
        await Client.RecordResidentFeeAsync(new RecordResidentFeeRequest { HouseholdId = risers[1].Households[0].HouseholdId, AmountFen = 100_00, PaidOn = "2026-04-20" });

        var byRiser = await Client.GetCostReportAsync(new GetCostReportRequest { RiserId = risers[0].RiserId });
        var byCommunity = await Client.GetCostReportAsync(new GetCostReportRequest { CommunityId = community.CommunityId });
        var byDistrict = await Client.GetCostReportAsync(new GetCostReportRequest { District = "东昌府区" });

        Assert.Equal(new CostTotals
        {
            HouseholdsConverted = 2, ActualCostFen = 5000_00, ResidentFen = 700_00, FinanceFen = 3600_00, UtilityFen = 700_00,
            ResidentCollectedFen = 350_00, ResidentOutstandingFen = 350_00,
        }, byRiser.Totals);
        Assert.Equal(new CostTotals
        {
            HouseholdsConverted = 5, ActualCostFen = 8000_00, ResidentFen = 1750_00, FinanceFen = 5550_00, UtilityFen = 700_00,
            ResidentCollectedFen = 450_00, ResidentOutstandingFen = 1300_00,
        }, byCommunity.Totals);
        Assert.Equal(2, byCommunity.Rows.Count);
        Assert.Equal(byCommunity.Totals, byDistrict.Totals);
        Assert.Equal("幸福小区", byDistrict.Rows.Single().Label);
    }

    [Fact]
    public async Task A_converted_riser_without_a_cost_is_counted_as_pending()
    {
        var riser = await _steps.SurveyedRiser();
        await _steps.ConvertedRiser(riser);

        var report = await Client.GetCostReportAsync(new GetCostReportRequest { RiserId = riser.RiserId });

        Assert.Equal(3, report.Totals.HouseholdsConverted);
        Assert.Equal(3, report.Totals.HouseholdsCostPending);
        Assert.Equal(0, report.Totals.ResidentFen);
    }

    [Fact]
    public async Task Bad_cost_inputs_are_refused()
    {
        var riser = await _steps.SurveyedRiser();
        var household = riser.Households[0].HouseholdId;
        await Client.RecordResidentFeeAsync(new RecordResidentFeeRequest { HouseholdId = household, AmountFen = 300_00, PaidOn = "2026-04-20" });

        var negative = await ProgrammeSteps.Refused(() => Client.SetRiserCostAsync(new SetRiserCostRequest { RiserId = riser.RiserId, ActualCostFen = -1 }).ResponseAsync);
        var tooMuch = await ProgrammeSteps.Refused(() => Client.RecordResidentFeeAsync(new RecordResidentFeeRequest { HouseholdId = household, AmountFen = 100_00, PaidOn = "2026-04-20" }).ResponseAsync);
        var noScope = await ProgrammeSteps.Refused(() => Client.GetCostReportAsync(new GetCostReportRequest()).ResponseAsync);

        Assert.Equal("actual_cost_fen", ErrorDetails.ViolatedField(negative));
        Assert.Equal(StatusCode.FailedPrecondition, tooMuch.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, noScope.StatusCode);
    }

    [Fact]
    public async Task A_handover_manifest_lists_the_user_numbers_as_utf8_csv_with_bom_and_publishes_HandoverIssued()
    {
        var riser = await _steps.SurveyedRiser("2单元", "101", "102");
        var converted = await _steps.ConvertedRiser(riser);

        var manifest = await Client.IssueHandoverAsync(new IssueHandoverRequest
        {
            RiserId = riser.RiserId, Recipient = "业主代表 刘大成", HandedOverOn = "2026-04-20",
        });

        Assert.Equal(2, manifest.AccountCount);
        Assert.Equal(converted.Accounts.Select(a => a.UserNumber), manifest.Lines.Select(l => l.UserNumber));
        var bytes = manifest.Csv.ToByteArray();
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        var lines = Encoding.UTF8.GetString(bytes[3..]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("user_number,holder_name,address,phone", lines[0]);
        Assert.Equal($"{converted.Accounts[0].UserNumber},住户101,东昌府区 古楼街道 幸福小区 3号楼 2单元 101,13800000101", lines[1]);
        Assert.Contains(await _steps.OutboxTypes(), t => t.Contains("HandoverIssued"));

        using var http = _host.CreateClient();
        var download = await http.GetAsync($"/v1/handovers/{manifest.ManifestId}/manifest.csv");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("text/csv", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes, await download.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Reissuing_a_manifest_keeps_the_history_and_what_was_handed_over()
    {
        var riser = await _steps.SurveyedRiser("2单元", "101");
        var converted = await _steps.ConvertedRiser(riser);
        var first = await Client.IssueHandoverAsync(new IssueHandoverRequest { RiserId = riser.RiserId, Recipient = "施工单位 甲", HandedOverOn = "2026-04-20" });
        await Client.ChangeAccountDetailsAsync(new ChangeAccountDetailsRequest
        {
            UserNumber = converted.Accounts[0].UserNumber, HolderName = "新户主", EffectiveOn = "2026-05-01",
        });

        var second = await Client.IssueHandoverAsync(new IssueHandoverRequest { CommunityId = riser.CommunityId, Recipient = "业主代表 乙", HandedOverOn = "2026-05-02" });
        var history = await Client.ListHandoversAsync(new ListHandoversRequest { RiserId = riser.RiserId });
        var firstAgain = await Client.GetHandoverAsync(new GetHandoverRequest { ManifestId = first.ManifestId });

        Assert.Equal("community", second.Scope);
        Assert.Equal("新户主", second.Lines.Single().HolderName);
        Assert.Equal("住户101", firstAgain.Lines.Single().HolderName);
        Assert.Equal("施工单位 甲", history.Manifests.Single().Recipient);
    }

    [Fact]
    public async Task A_handover_of_an_unconverted_riser_or_without_recipient_is_refused()
    {
        var riser = await _steps.SurveyedRiser();

        var unconverted = await ProgrammeSteps.Refused(() => Client.IssueHandoverAsync(new IssueHandoverRequest
        {
            RiserId = riser.RiserId, Recipient = "施工单位", HandedOverOn = "2026-04-20",
        }).ResponseAsync);
        var noRecipient = await ProgrammeSteps.Refused(() => Client.IssueHandoverAsync(new IssueHandoverRequest
        {
            RiserId = riser.RiserId, Recipient = "", HandedOverOn = "2026-04-20",
        }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, unconverted.StatusCode);
        Assert.Equal("recipient", ErrorDetails.ViolatedField(noRecipient));
        Assert.Empty((await Client.ListHandoversAsync(new ListHandoversRequest { RiserId = riser.RiserId })).Manifests);
    }
}
