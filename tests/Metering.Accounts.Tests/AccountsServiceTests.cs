using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Metering.Accounts.Data;
using Metering.Contracts.Accounts.V1;
using Metering.Hosting.Grpc;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

namespace Metering.Accounts.Tests;

public sealed class AccountsServiceTests : IDisposable
{
    // Well formed (Luhn-valid) but never issued: prefix 9 is not the default plan's.
    private const string UnknownUserNumber = "9999999999";

    private readonly ServiceFactory<AccountsModule> _host = new();

    public void Dispose() => _host.Dispose();

    private AccountsClient Client => new(_host.Channel);

    private static OpenAccountRequest Household(string serial) => new()
    {
        HolderName = "张三明",
        Address = "东昌府区 幸福小区 3号楼 2单元 301",
        Phone = "13800000001",
        Persons = 3,
        MeterSerial = serial,
        InitialRegisterLitres = 0,
        OpenedOn = "2026-01-01",
    };

    [Fact]
    public async Task Opening_an_account_allocates_a_valid_user_number_and_publishes_AccountOpened()
    {
        var account = await Client.OpenAccountAsync(Household("M-1"));

        Assert.Matches("^1[0-9]{9}$", account.UserNumber);
        Assert.True(Metering.Domain.Luhn.IsValid(account.UserNumber));
        Assert.Equal(Metering.Contracts.Accounts.V1.AccountStatus.Open, account.Status);
        var fetched = await Client.GetAccountAsync(new GetAccountRequest { UserNumber = account.UserNumber });
        Assert.Equal("张三明", fetched.HolderName);

        // The event is committed with the account, then published by the relay.
        await Eventually.Get(async () =>
        {
            using var scope = _host.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<AccountsDbContext>();
            return await db.OutboxMessages.SingleAsync();
        }, row => row.SentAt != null, what: "AccountOpened to be published");
    }

    [Fact]
    public async Task Concurrent_openings_never_share_a_user_number()
    {
        var openings = Enumerable.Range(1, 40).Select(i => Client.OpenAccountAsync(Household($"M-{i}")).ResponseAsync);
        var accounts = await Task.WhenAll(openings);

        Assert.Equal(40, accounts.Select(a => a.UserNumber).Distinct().Count());
    }

    [Fact]
    public async Task Two_replicas_on_one_database_never_issue_the_same_number()
    {
        // A second host on the same SQLite file plays the second replica.
        using var replica = new ServiceFactory<AccountsModule>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Accounts"] = $"Data Source={Path.Combine(_host.DataDirectory, "accounts.db")}",
        });
        _ = _host.Server; // the first replica starts (and migrates) first, as in a rolling deployment
        var other = new AccountsClient(replica.Channel);

        var openings = Enumerable.Range(1, 30).Select(i =>
            (i % 2 == 0 ? Client : other).OpenAccountAsync(Household($"R-{i}")).ResponseAsync);
        var accounts = await Task.WhenAll(openings);

        Assert.Equal(30, accounts.Select(a => a.UserNumber).Distinct().Count());
    }

    [Fact]
    public async Task A_second_account_for_an_installed_meter_is_refused_and_nothing_is_written()
    {
        await Client.OpenAccountAsync(Household("M-9"));

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.OpenAccountAsync(Household("M-9")).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        using var scope = _host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AccountsDbContext>();
        Assert.Equal(1, await db.Accounts.CountAsync());
        Assert.Equal(1, await db.OutboxMessages.CountAsync());
    }

    [Fact]
    public async Task Invalid_input_names_the_field_and_writes_nothing()
    {
        var request = Household("M-2");
        request.Persons = 0;

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.OpenAccountAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("persons", ErrorDetails.ViolatedField(error));
        using var scope = _host.Services.CreateScope();
        Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<AccountsDbContext>().Accounts.CountAsync());
    }

    [Theory]
    [InlineData("12345", StatusCode.InvalidArgument)]
    [InlineData("10000000ab", StatusCode.InvalidArgument)]
    [InlineData("1000000017", StatusCode.InvalidArgument)]
    [InlineData(UnknownUserNumber, StatusCode.NotFound)]
    public async Task Looking_up_a_bad_or_unknown_user_number_is_refused(string userNumber, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Client.GetAccountAsync(new GetAccountRequest { UserNumber = userNumber }).ResponseAsync);
        Assert.Equal(expected, error.StatusCode);
    }

    [Fact]
    public async Task The_JSON_routes_answer_with_HTTP_codes()
    {
        var http = _host.CreateClient();

        var created = await http.PostAsJsonAsync("/v1/accounts", new
        {
            holderName = "李四", address = "幸福小区 1号楼", phone = "13900000000", persons = 2,
            meterSerial = "J-1", initialRegisterLitres = 0, openedOn = "2026-01-01",
        });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var userNumber = body.GetProperty("userNumber").GetString();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/v1/accounts/{userNumber}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/v1/accounts/1000000017")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/accounts/{UnknownUserNumber}")).StatusCode);
    }
}
