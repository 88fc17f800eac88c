using Grpc.Core;
using Metering.Contracts.Accounts.V1;
using Metering.Hosting.Grpc;
using Metering.Testing;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

namespace Metering.Accounts.Tests;

public sealed class AccountLifecycleTests : IDisposable
{
    private readonly ServiceFactory<AccountsModule> _host = new();
    private readonly ProgrammeSteps _steps;

    public AccountLifecycleTests() => _steps = new ProgrammeSteps(_host);

    public void Dispose() => _host.Dispose();

    private AccountsClient Client => _steps.Client;

    private async Task<ConvertRiserResponse> ConvertedRiser(params string[] units) =>
        await _steps.ConvertedRiser(await _steps.SurveyedRiser("2单元", units));

    [Fact]
    public async Task The_hotline_finds_accounts_by_phone_name_or_address_page_by_page()
    {
        var converted = await ConvertedRiser("101", "102", "201", "202", "301");

        var byPhone = await Client.SearchAccountsAsync(new SearchAccountsRequest { Phone = "00000201" });
        var byName = await Client.SearchAccountsAsync(new SearchAccountsRequest { HolderName = "住户30" });
        var page1 = await Client.SearchAccountsAsync(new SearchAccountsRequest { Address = "幸福小区 2单元", PageSize = 2 });
        var page2 = await Client.SearchAccountsAsync(new SearchAccountsRequest { Address = "幸福小区 2单元", PageSize = 2, PageToken = page1.NextPageToken });
        var page3 = await Client.SearchAccountsAsync(new SearchAccountsRequest { Address = "幸福小区 2单元", PageSize = 2, PageToken = page2.NextPageToken });

        Assert.Equal(converted.Accounts[2].UserNumber, byPhone.Accounts.Single().UserNumber);
        Assert.Equal(converted.Accounts[4].UserNumber, byName.Accounts.Single().UserNumber);
        Assert.Equal(converted.Accounts.Select(a => a.UserNumber),
            page1.Accounts.Concat(page2.Accounts).Concat(page3.Accounts).Select(a => a.UserNumber));
        Assert.Equal("", page3.NextPageToken);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("page_size")]
    [InlineData("page_token")]
    [InlineData("address")]
    public async Task Bad_searches_are_refused_naming_the_field(string field)
    {
        var request = field switch
        {
            "phone" => new SearchAccountsRequest(),
            "page_size" => new SearchAccountsRequest { Phone = "13800", PageSize = 101 },
            "page_token" => new SearchAccountsRequest { Phone = "13800", PageToken = "abc" },
            _ => new SearchAccountsRequest { Address = "幸" },
        };

        var error = await ProgrammeSteps.Refused(() => Client.SearchAccountsAsync(request).ResponseAsync);

        Assert.Equal(field, ErrorDetails.ViolatedField(error));
    }

    [Fact]
    public async Task A_change_of_holder_and_persons_is_kept_in_the_history_and_publishes_HouseholdDetailsChanged()
    {
        var account = (await ConvertedRiser("101")).Accounts.Single();

        var changed = await Client.ChangeAccountDetailsAsync(new ChangeAccountDetailsRequest
        {
            UserNumber = account.UserNumber, HolderName = "李新", Persons = 6, EffectiveOn = "2026-06-01",
        });
        var history = await Client.GetAccountHistoryAsync(new GetAccountHistoryRequest { UserNumber = account.UserNumber });

        Assert.Equal(("李新", 6), (changed.HolderName, changed.Persons));
        Assert.Equal(["OPENED", "HOLDER_CHANGED", "PERSONS_CHANGED"], history.Changes.Select(c => c.Kind));
        Assert.Equal(("住户101", "李新", "2026-06-01"), (history.Changes[1].Before, history.Changes[1].After, history.Changes[1].EffectiveOn));
        Assert.Equal(("3 persons", "6 persons"), (history.Changes[2].Before, history.Changes[2].After));
        Assert.Contains(await _steps.OutboxTypes(), t => t.Contains("HouseholdDetailsChanged"));
    }

    [Fact]
    public async Task Closing_an_account_publishes_AccountClosed_and_refuses_later_changes()
    {
        var account = (await ConvertedRiser("101")).Accounts.Single();

        var closed = await Client.CloseAccountAsync(new CloseAccountRequest { UserNumber = account.UserNumber, ClosedOn = "2026-07-01", Reason = "房屋拆除" });
        var change = await ProgrammeSteps.Refused(() => Client.ChangeAccountDetailsAsync(new ChangeAccountDetailsRequest
        {
            UserNumber = account.UserNumber, Persons = 2, EffectiveOn = "2026-07-02",
        }).ResponseAsync);
        var again = await ProgrammeSteps.Refused(() => Client.CloseAccountAsync(new CloseAccountRequest { UserNumber = account.UserNumber, ClosedOn = "2026-07-01", Reason = "x" }).ResponseAsync);

        Assert.Equal((AccountStatus.Closed, "2026-07-01"), (closed.Status, closed.ClosedOn));
        Assert.Equal(StatusCode.FailedPrecondition, change.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Contains(await _steps.OutboxTypes(), t => t.Contains("AccountClosed"));
        var history = await Client.GetAccountHistoryAsync(new GetAccountHistoryRequest { UserNumber = account.UserNumber });
        Assert.Equal("CLOSED", history.Changes.Last().Kind);
    }

    [Theory]
    [InlineData("holder_name", "nothing")]
    [InlineData("holder_name", "")]
    [InlineData("phone", "12ab")]
    [InlineData("persons", "0")]
    [InlineData("effective_on", "future")]
    [InlineData("effective_on", "before opening")]
    [InlineData("user_number", "1000000018")]
    public async Task Bad_changes_are_refused_naming_the_field_and_change_nothing(string field, string value)
    {
        var account = (await ConvertedRiser("101")).Accounts.Single();
        var request = new ChangeAccountDetailsRequest { UserNumber = account.UserNumber, EffectiveOn = "2026-06-01" };
        switch (field, value)
        {
            case ("holder_name", "nothing"): break;
            case ("holder_name", _): request.HolderName = value; break;
            case ("phone", _): request.Phone = value; break;
            case ("persons", _): request.Persons = 0; break;
            case ("effective_on", "future"): request.Persons = 4; request.EffectiveOn = "2099-01-01"; break;
            case ("effective_on", _): request.Persons = 4; request.EffectiveOn = "2026-01-01"; break;
            case ("user_number", _): request.UserNumber = value; request.Persons = 4; break;
        }

        var error = await ProgrammeSteps.Refused(() => Client.ChangeAccountDetailsAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, ErrorDetails.ViolatedField(error));
        var stored = await Client.GetAccountAsync(new GetAccountRequest { UserNumber = account.UserNumber });
        Assert.Equal(("住户101", 3), (stored.HolderName, stored.Persons));
    }
}
