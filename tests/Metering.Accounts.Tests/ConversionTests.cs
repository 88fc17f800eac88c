using System.Net;
using System.Net.Http.Json;
using Grpc.Core;
using Metering.Contracts.Accounts.V1;
using Metering.Domain;
using Metering.Hosting.Grpc;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

namespace Metering.Accounts.Tests;

public sealed class ConversionTests : IDisposable
{
    private readonly ServiceFactory<AccountsModule> _host = new();
    private readonly ProgrammeSteps _steps;

    public ConversionTests() => _steps = new ProgrammeSteps(_host);

    public void Dispose() => _host.Dispose();

    private AccountsClient Client => _steps.Client;

    [Fact]
    public async Task A_riser_with_one_refusal_and_one_missing_signature_cannot_be_converted_and_the_error_lists_them()
    {
        var riser = await _steps.SurveyedRiser("2单元", "101", "102", "201");
        await Client.RecordConsentAsync(new RecordConsentRequest
        {
            HouseholdId = riser.Households[0].HouseholdId, RiserId = riser.RiserId, Decision = ConsentDecision.Consented,
            SignedBy = "住户101", SignedOn = "2026-03-01",
        });
        await Client.RecordConsentAsync(new RecordConsentRequest
        {
            HouseholdId = riser.Households[1].HouseholdId, RiserId = riser.RiserId, Decision = ConsentDecision.Refused,
            SignedBy = "住户102", SignedOn = "2026-03-02",
        });

        var error = await ProgrammeSteps.Refused(() => Client.ConvertRiserAsync(ProgrammeSteps.Conversion(riser)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("102 (refused), 201 (no signature)", error.Status.Detail);
        Assert.Equal(0, await _steps.AccountsStored());
        var view = await Client.GetRiserAsync(new GetRiserRequest { RiserId = riser.RiserId });
        Assert.Equal(["102 (refused)", "201 (no signature)"], view.BlockingUnits);
        Assert.Equal(ConsentDecision.Refused, view.Households[1].Consent);
        Assert.Equal("2026-03-02", view.Households[1].ConsentSignedOn);
    }

    [Fact]
    public async Task Converting_a_consented_riser_opens_an_account_per_household_with_AccountOpened_for_each()
    {
        var riser = await _steps.SurveyedRiser("2单元", "101", "102", "201");

        var converted = await _steps.ConvertedRiser(riser);

        Assert.Equal(3, converted.Accounts.Count);
        Assert.Equal(3, converted.Accounts.Select(a => a.UserNumber).Distinct().Count());
        Assert.All(converted.Accounts, a =>
        {
            Assert.True(Luhn.IsValid(a.UserNumber));
            Assert.Equal("2026-04-15", a.OpenedOn);
            Assert.StartsWith("东昌府区 古楼街道 幸福小区 3号楼 2单元 ", a.Address);
        });
        Assert.Equal(riser.Households.Select(h => h.HouseholdId), converted.Accounts.Select(a => a.HouseholdId));
        Assert.Equal(3, (await _steps.OutboxTypes()).Count(t => t.Contains("AccountOpened")));
        var view = await Client.GetRiserAsync(new GetRiserRequest { RiserId = riser.RiserId });
        Assert.Equal(RiserStatus.Converted, view.Status);
        Assert.Equal(converted.Accounts.Select(a => a.UserNumber), view.Households.Select(h => h.UserNumber));
    }

    [Fact]
    public async Task The_AccountOpened_events_written_by_the_bulk_path_are_published_by_the_relay()
    {
        var riser = await _steps.SurveyedRiser("2单元", "101", "102", "201");
        await _steps.ConsentAll(riser);
        using var call = Client.ConvertRisers();
        await call.RequestStream.WriteAsync(ProgrammeSteps.Conversion(riser));
        await call.RequestStream.CompleteAsync();
        var result = await call;

        var rows = await Eventually.Get(
            () => _steps.Query(db => db.OutboxMessages.AsNoTracking().ToListAsync()),
            r => r.Count == 3 && r.All(m => m.SentAt != null), what: "the three AccountOpened to be published");

        Assert.Equal(3, result.AccountsOpened);
        Assert.Equal(3, rows.Select(m => m.MessageId).Distinct().Count());
        Assert.All(rows, m => Assert.Contains(result.Results.Single().UserNumbers, n => m.Body.Contains(n)));
    }

    [Fact]
    public async Task A_refused_riser_in_a_bulk_conversion_never_stops_the_others()
    {
        var community = await _steps.Community();
        await _steps.Import(community.CommunityId, ProgrammeSteps.Survey("幸福小区", "1单元", "101") +
            ProgrammeSteps.Survey("幸福小区", "2单元", "101")[(ProgrammeSteps.Header.Length + 1)..]);
        var risers = (await Client.ListRisersAsync(new ListRisersRequest { CommunityId = community.CommunityId })).Risers;
        await _steps.ConsentAll(risers[1]); // the first riser has no signature

        using var call = Client.ConvertRisers();
        foreach (var riser in risers)
            await call.RequestStream.WriteAsync(ProgrammeSteps.Conversion(riser));
        await call.RequestStream.CompleteAsync();
        var result = await call;

        Assert.Equal((1, 1, 1), (result.RisersConverted, result.RisersRefused, result.AccountsOpened));
        Assert.Contains("101 (no signature)", result.Results[0].Reason);
        Assert.True(result.Results[1].Converted);
        Assert.Equal(1, await _steps.AccountsStored());
    }

    [Fact]
    public async Task A_converted_riser_cannot_be_converted_again_nor_take_consent_or_households()
    {
        var riser = await _steps.SurveyedRiser();
        await _steps.ConvertedRiser(riser);

        var again = await ProgrammeSteps.Refused(() => Client.ConvertRiserAsync(ProgrammeSteps.Conversion(riser, "N")).ResponseAsync);
        var consent = await ProgrammeSteps.Refused(() => Client.RecordConsentAsync(new RecordConsentRequest
        {
            HouseholdId = riser.Households[0].HouseholdId, RiserId = riser.RiserId, Decision = ConsentDecision.Refused,
            SignedBy = "x", SignedOn = "2026-05-01",
        }).ResponseAsync);
        var household = await ProgrammeSteps.Refused(() => Client.AddHouseholdAsync(new AddHouseholdRequest
        {
            RiserId = riser.RiserId, Unit = "999", HolderName = "新户", Phone = "13800009999", Persons = 1,
        }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Contains("already converted", again.Status.Detail);
        Assert.Equal(StatusCode.FailedPrecondition, consent.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, household.StatusCode);
        Assert.Equal(3, await _steps.AccountsStored());
    }

    [Fact]
    public async Task A_meter_serial_already_installed_elsewhere_is_refused_and_nothing_is_written()
    {
        var community = await _steps.Community();
        await _steps.Import(community.CommunityId, ProgrammeSteps.Survey("幸福小区", "1单元", "101") +
            ProgrammeSteps.Survey("幸福小区", "2单元", "101")[(ProgrammeSteps.Header.Length + 1)..]);
        var risers = (await Client.ListRisersAsync(new ListRisersRequest { CommunityId = community.CommunityId })).Risers;
        await _steps.ConvertedRiser(risers[0], "M");
        await _steps.ConsentAll(risers[1]);
        var request = ProgrammeSteps.Conversion(risers[1]);
        request.Meters[0].MeterSerial = $"M-{risers[0].RiserId}-101";

        var error = await ProgrammeSteps.Refused(() => Client.ConvertRiserAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Contains($"M-{risers[0].RiserId}-101", error.Status.Detail);
        Assert.Equal(1, await _steps.AccountsStored());
        Assert.Equal(RiserStatus.Surveyed, (await Client.GetRiserAsync(new GetRiserRequest { RiserId = risers[1].RiserId })).Status);
    }

    [Theory]
    [InlineData("completed_on")]
    [InlineData("missing meter")]
    [InlineData("unknown unit")]
    [InlineData("same serial twice")]
    [InlineData("bad serial")]
    [InlineData("register")]
    public async Task Bad_conversion_requests_are_refused_naming_the_field(string what)
    {
        var riser = await _steps.SurveyedRiser();
        await _steps.ConsentAll(riser);
        var request = ProgrammeSteps.Conversion(riser);
        var expectedField = "meters";
        switch (what)
        {
            case "completed_on": request.CompletedOn = DateTime.UtcNow.AddDays(3).ToString("yyyy-MM-dd"); expectedField = "completed_on"; break;
            case "missing meter": request.Meters.RemoveAt(2); break;
            case "unknown unit": request.Meters[2].Unit = "909"; break;
            case "same serial twice": request.Meters[1].MeterSerial = request.Meters[0].MeterSerial; expectedField = "meters[1].meter_serial"; break;
            case "bad serial": request.Meters[0].MeterSerial = "M 1/2"; expectedField = "meters[0].meter_serial"; break;
            case "register": request.Meters[0].InitialRegisterLitres = -1; expectedField = "meters[0].initial_register_litres"; break;
        }

        var error = await ProgrammeSteps.Refused(() => Client.ConvertRiserAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(expectedField, ErrorDetails.ViolatedField(error));
        Assert.Equal(0, await _steps.AccountsStored());
    }

    [Fact]
    public async Task Consent_for_a_household_of_another_riser_is_refused()
    {
        var community = await _steps.Community();
        await _steps.Import(community.CommunityId, ProgrammeSteps.Survey("幸福小区", "1单元", "101") +
            ProgrammeSteps.Survey("幸福小区", "2单元", "101")[(ProgrammeSteps.Header.Length + 1)..]);
        var risers = (await Client.ListRisersAsync(new ListRisersRequest { CommunityId = community.CommunityId })).Risers;

        var error = await ProgrammeSteps.Refused(() => Client.RecordConsentAsync(new RecordConsentRequest
        {
            HouseholdId = risers[0].Households[0].HouseholdId, RiserId = risers[1].RiserId,
            Decision = ConsentDecision.Consented, SignedBy = "住户", SignedOn = "2026-03-01",
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("riser_id", ErrorDetails.ViolatedField(error));
        var stored = await _steps.Query(db => db.Households.Select(h => h.Consent).ToListAsync());
        Assert.All(stored, c => Assert.Equal(Domain.ConsentState.Missing, c));
    }

    [Theory]
    [InlineData("decision")]
    [InlineData("signed_by")]
    [InlineData("signed_on")]
    public async Task Bad_consent_is_refused_naming_the_field(string field)
    {
        var riser = await _steps.SurveyedRiser();
        var request = new RecordConsentRequest
        {
            HouseholdId = riser.Households[0].HouseholdId, RiserId = riser.RiserId, Decision = ConsentDecision.Consented,
            SignedBy = "住户", SignedOn = "2026-03-01",
        };
        switch (field)
        {
            case "decision": request.Decision = ConsentDecision.Unspecified; break;
            case "signed_by": request.SignedBy = " "; break;
            case "signed_on": request.SignedOn = "2099-01-01"; break;
        }

        var error = await ProgrammeSteps.Refused(() => Client.RecordConsentAsync(request).ResponseAsync);

        Assert.Equal(field, ErrorDetails.ViolatedField(error));
    }

    [Fact]
    public async Task Two_replicas_converting_risers_at_once_never_issue_the_same_number()
    {
        var community = await _steps.Community();
        var csv = string.Concat(Enumerable.Range(1, 12).Select(r =>
            ProgrammeSteps.Survey("幸福小区", $"{r}单元", "101", "102", "201", "202")[(r == 1 ? 0 : ProgrammeSteps.Header.Length + 1)..]));
        await _steps.Import(community.CommunityId, csv);
        var risers = (await Client.ListRisersAsync(new ListRisersRequest { CommunityId = community.CommunityId })).Risers;
        foreach (var riser in risers)
            await _steps.ConsentAll(riser);
        // A second host on the same SQLite file plays the second replica: its own process-level state, one database.
        using var replica = new ServiceFactory<AccountsModule>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Accounts"] = $"Data Source={Path.Combine(_host.DataDirectory, "accounts.db")}",
        });
        var other = new AccountsClient(replica.Channel);

        var conversions = risers.Select((r, i) => (i % 2 == 0 ? Client : other).ConvertRiserAsync(ProgrammeSteps.Conversion(r)).ResponseAsync);
        var results = await Task.WhenAll(conversions);

        var numbers = results.SelectMany(r => r.Accounts).Select(a => a.UserNumber).ToList();
        Assert.Equal(48, numbers.Count);
        Assert.Equal(48, numbers.Distinct().Count());
        Assert.Equal(48, await _steps.AccountsStored());
        // Serials were taken one after another: the sequence ends exactly at the number of accounts issued.
        Assert.Equal(48, await _steps.Query(db => db.UserNumberSequences.Select(s => s.LastSerial).SingleAsync()));
    }

    [Fact]
    public async Task A_district_with_its_own_prefix_gets_user_numbers_under_it()
    {
        using var host = new ServiceFactory<AccountsModule>(new Dictionary<string, string?>
        {
            ["Accounts:DistrictPrefixes:茌平区"] = "25",
        });
        var steps = new ProgrammeSteps(host);
        var community = await steps.Community(name: "振兴小区", district: "茌平区");
        var import = await steps.Import(community.CommunityId, ProgrammeSteps.Survey("振兴小区", "1单元", "101"));
        var riser = await steps.Client.GetRiserAsync(new GetRiserRequest { RiserId = import.Rows[0].RiserId });

        var converted = await steps.ConvertedRiser(riser);

        Assert.Matches("^25[0-9]{8}$", converted.Accounts.Single().UserNumber);
    }

    [Fact]
    public async Task The_whole_riser_path_works_over_json()
    {
        var riser = await _steps.SurveyedRiser("2单元", "101");
        using var http = _host.CreateClient();

        var consent = await http.PostAsJsonAsync($"/v1/households/{riser.Households[0].HouseholdId}/consent",
            new { riserId = riser.RiserId, decision = "CONSENTED", signedBy = "住户101", signedOn = "2026-03-01" });
        var conversion = await http.PostAsJsonAsync($"/v1/risers/{riser.RiserId}/conversion", new
        {
            completedOn = "2026-04-15",
            meters = new[] { new { unit = "101", meterSerial = "M-J-1", initialRegisterLitres = 0 } },
        });

        Assert.Equal(HttpStatusCode.OK, consent.StatusCode);
        Assert.Equal(HttpStatusCode.OK, conversion.StatusCode);
        Assert.Equal(1, await _steps.AccountsStored());
    }
}
