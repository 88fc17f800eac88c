using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Metering.Contracts.Accounts.V1;
using Metering.Hosting.Grpc;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;

namespace Metering.Accounts.Tests;

public sealed class SurveyImportTests : IDisposable
{
    private readonly ServiceFactory<AccountsModule> _host = new();
    private readonly ProgrammeSteps _steps;

    public SurveyImportTests() => _steps = new ProgrammeSteps(_host);

    public void Dispose() => _host.Dispose();

    private Task<int> HouseholdsStored() => _steps.Query(db => db.Households.CountAsync());

    [Fact]
    public async Task A_survey_creates_its_risers_and_households_and_a_reimport_changes_nothing()
    {
        var community = await _steps.Community();
        var csv = ProgrammeSteps.Survey("幸福小区", "1单元", "101", "102") + ProgrammeSteps.Survey("幸福小区", "2单元", "101")[(ProgrammeSteps.Header.Length + 1)..];

        var first = await _steps.Import(community.CommunityId, csv);
        var again = await _steps.Import(community.CommunityId, csv);

        Assert.Equal((3, 0, 0), (first.Created, first.Unchanged, first.Refused));
        Assert.All(first.Rows, r => Assert.True(r.HouseholdId > 0));
        Assert.Equal([2, 3, 4], first.Rows.Select(r => r.Line));
        Assert.Equal((0, 3, 0), (again.Created, again.Unchanged, again.Refused));
        Assert.Equal(first.Rows.Select(r => r.HouseholdId), again.Rows.Select(r => r.HouseholdId));
        var risers = await _steps.Client.ListRisersAsync(new ListRisersRequest { CommunityId = community.CommunityId });
        Assert.Equal(["1单元", "2单元"], risers.Risers.Select(r => r.Riser));
        Assert.Equal(3, await HouseholdsStored());
    }

    [Fact]
    public async Task Bad_rows_are_refused_with_the_reason_and_never_stop_the_good_ones()
    {
        var community = await _steps.Community();
        var csv = ProgrammeSteps.Header + "\n" +
                  "幸福小区,3号楼,2单元,101,王小红,13800000001,3\n" +
                  "幸福小区,3号楼,2单元,102,,13800000002,3\n" +
                  "幸福小区,3号楼,2单元,103,李四,call me,3\n" +
                  "幸福小区,3号楼,2单元,104,赵六,13800000004,0\n" +
                  "幸福小区,3号楼,2单元,105,孙七,13800000005,three\n" +
                  "阳光小区,3号楼,2单元,106,周八,13800000006,2\n" +
                  "幸福小区,3号楼,2单元,101,另一人,13800000009,1\n" +
                  $"幸福小区,3号楼,2单元,107,{new string('名', 51)},13800000007,2\n" +
                  "幸福小区,3号楼,2单元,108,吴九,13800000008,2\n";

        var result = await _steps.Import(community.CommunityId, csv);

        Assert.Equal((2, 0, 7), (result.Created, result.Unchanged, result.Refused));
        var reasons = result.Rows.Where(r => r.Outcome == SurveyRowOutcome.RowRefused).ToDictionary(r => r.Line, r => r.Reason);
        Assert.StartsWith("holder_name: is required", reasons[3]);
        Assert.StartsWith("phone:", reasons[4]);
        Assert.StartsWith("persons: must be between 1", reasons[5]);
        Assert.Contains("'three' is not a whole number", reasons[6]);
        Assert.Contains("阳光小区", reasons[7]);
        Assert.Contains("twice in the file", reasons[8]);
        Assert.StartsWith("holder_name: must be at most 50", reasons[9]);
        Assert.Equal(2, await HouseholdsStored());
    }

    [Fact]
    public async Task A_row_that_contradicts_a_registered_household_is_refused_on_reimport()
    {
        var community = await _steps.Community();
        await _steps.Import(community.CommunityId, ProgrammeSteps.Survey("幸福小区", "2单元", "101"));

        var result = await _steps.Import(community.CommunityId,
            ProgrammeSteps.Header + "\n幸福小区,3号楼,2单元,101,新户主,13900000000,2\n");

        Assert.Equal(SurveyRowOutcome.RowRefused, result.Rows.Single().Outcome);
        Assert.Contains("already registered with other details", result.Rows.Single().Reason);
    }

    [Theory]
    [InlineData("community,building,riser,unit,holder,phone\n", "missing persons")]
    [InlineData("community,building,riser,unit,holder,phone,persons,remark\n", "unknown remark")]
    [InlineData("小区,楼,单元,户,户主,电话,人数\n", "missing community")]
    [InlineData("", "is empty")]
    public async Task A_csv_with_wrong_columns_is_refused_as_a_whole(string header, string reason)
    {
        var community = await _steps.Community();

        var error = await ProgrammeSteps.Refused(() => _steps.Import(community.CommunityId, header + (header.Length > 0 ? "幸福小区,3号楼,2单元,101,王小红,13800000001,3,x\n" : "")));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("csv", ErrorDetails.ViolatedField(error));
        Assert.Contains(reason, error.Status.Detail);
        Assert.Equal(0, await HouseholdsStored());
    }

    [Fact]
    public async Task A_gbk_file_is_refused_as_not_utf8_and_a_utf8_file_with_bom_is_taken()
    {
        var community = await _steps.Community();
        var text = ProgrammeSteps.Survey("幸福小区", "2单元", "101", "102");
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

        var gbk = await ProgrammeSteps.Refused(() => Stream(community.CommunityId, Encoding.GetEncoding("GBK").GetBytes(text)));
        var withBom = await Stream(community.CommunityId, [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)]);

        Assert.Equal(StatusCode.InvalidArgument, gbk.StatusCode);
        Assert.Contains("not valid UTF-8", gbk.Status.Detail);
        Assert.Equal(2, withBom.Created);
    }

    [Fact]
    public async Task A_large_survey_streams_in_chunks()
    {
        var community = await _steps.Community();
        var units = Enumerable.Range(1, 3000).Select(i => i.ToString("D4")).ToArray();
        var bytes = Encoding.UTF8.GetBytes(ProgrammeSteps.Survey("幸福小区", "2单元", units));

        var result = await Stream(community.CommunityId, bytes, chunkSize: 16 * 1024);

        Assert.Equal(3000, result.Created);
        Assert.Equal(3000, await HouseholdsStored());
    }

    [Fact]
    public async Task A_survey_for_an_unknown_community_is_not_found()
    {
        var error = await ProgrammeSteps.Refused(() => _steps.Import(404, ProgrammeSteps.Survey("幸福小区", "2单元", "101")));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task The_survey_is_imported_over_json_with_the_csv_in_the_body()
    {
        var community = await _steps.Community();
        using var http = _host.CreateClient();

        var response = await http.PostAsJsonAsync($"/v1/communities/{community.CommunityId}/survey",
            new { csv = ProgrammeSteps.Survey("幸福小区", "2单元", "101", "102") });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, body.GetProperty("created").GetInt32());
        Assert.Equal("CREATED", body.GetProperty("rows")[0].GetProperty("outcome").GetString());
    }

    private async Task<ImportSurveyResponse> Stream(long communityId, byte[] bytes, int chunkSize = 100)
    {
        using var call = _steps.Client.StreamSurvey();
        for (var offset = 0; offset < bytes.Length; offset += chunkSize)
            await call.RequestStream.WriteAsync(new SurveyChunk
            {
                CommunityId = communityId,
                Data = ByteString.CopyFrom(bytes, offset, Math.Min(chunkSize, bytes.Length - offset)),
            });
        await call.RequestStream.CompleteAsync();
        return await call;
    }
}
