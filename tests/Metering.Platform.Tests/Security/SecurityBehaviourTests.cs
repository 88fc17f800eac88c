using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Payments.V1;
using Metering.Hosting.Security;
using Metering.Payments;
using Metering.Standalone;
using Metering.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Metering.Platform.Tests.Security;

public sealed class SecurityBehaviourTests : IDisposable
{
    private const string Phone = "13912345678";
    private const string Name = "欧阳小明";

    private readonly CapturedLogs _logs = new();
    private readonly ServiceFactory<StandaloneHost> _factory;
    private readonly Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<StandaloneHost> _host;

    public SecurityBehaviourTests()
    {
        _factory = new ServiceFactory<StandaloneHost>(new Dictionary<string, string?>
        {
            ["Security:ChannelRateLimit:PermitsPerSecond"] = "3",
            ["Security:FailedLookupsBeforeDelay"] = "2",
            ["Logging:LogLevel:Default"] = "Debug",
        });
        _host = _factory.WithWebHostBuilder(b => b.ConfigureLogging(l => l.AddProvider(_logs)));
    }

    public void Dispose()
    {
        _host.Dispose();
        _factory.Dispose();
    }

    private Metering.Contracts.Accounts.V1.Accounts.AccountsClient AccountsAs(string key) =>
        new(Grpc.Net.Client.GrpcChannel.ForAddress(_host.Server.BaseAddress,
            new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = new ApiKeyHandler(key) { InnerHandler = _host.Server.CreateHandler() } }));

    private Metering.Contracts.Payments.V1.Payments.PaymentsClient PaymentsAs(string key) =>
        new(Grpc.Net.Client.GrpcChannel.ForAddress(_host.Server.BaseAddress,
            new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = new ApiKeyHandler(key) { InnerHandler = _host.Server.CreateHandler() } }));

    private async Task<string> OpenAccountAsync()
    {
        var account = await AccountsAs(Keys.Operator).OpenAccountAsync(new OpenAccountRequest
        {
            HolderName = Name, Address = "东昌府区 幸福小区 3号楼 2单元 301", Phone = Phone, Persons = 3,
            MeterSerial = "S-" + Guid.NewGuid().ToString("N")[..8], InitialRegisterLitres = 0, OpenedOn = "2026-01-01",
        });
        return account.UserNumber;
    }

    private async Task<Balance> BalanceOnceKnownAsync(string userNumber, string key) =>
        await Eventually.Get(async () =>
        {
            try { return await PaymentsAs(key).GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber }); }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound) { return null; }
        }, b => b is not null, what: "Payments to learn of the account") ?? throw new InvalidOperationException();

    [Fact]
    public async Task Operator_changes_are_audited_with_who_what_when_and_after_and_auditors_can_read_but_not_edit_them()
    {
        var userNumber = await OpenAccountAsync();
        await AccountsAs(Keys.Operator).ChangeAccountDetailsAsync(new ChangeAccountDetailsRequest
        {
            UserNumber = userNumber, Persons = 4, Phone = "13800001111", EffectiveOn = "2026-02-01",
        });
        await AccountsAs(Keys.Operator).GetAccountAsync(new GetAccountRequest { UserNumber = userNumber });

        using var auditor = _host.CreateClient();
        auditor.DefaultRequestHeaders.Remove(ApiKeyHandler.Header);
        auditor.DefaultRequestHeaders.Add(ApiKeyHandler.Header, Keys.Auditor);
        var trail = await auditor.GetFromJsonAsync<JsonElement>($"/v1/accounts/audit?target=user_number={userNumber}");
        var entries = trail.GetProperty("entries").EnumerateArray().ToList();

        // The read is not a change; the open carries no user number yet, so it is found by RPC.
        var change = Assert.Single(entries);
        Assert.Equal("dev-operator", change.GetProperty("keyId").GetString());
        Assert.Equal("/metering.accounts.v1.Accounts/ChangeAccountDetails", change.GetProperty("rpc").GetString());
        Assert.True(DateTime.UtcNow - change.GetProperty("at").GetDateTime() < TimeSpan.FromMinutes(5));
        Assert.Contains("138****1111", change.GetProperty("request").GetString());
        Assert.DoesNotContain("13800001111", change.GetProperty("request").GetString());
        Assert.Contains(userNumber, change.GetProperty("after").GetString());
        Assert.Contains("\"persons\": 3", change.GetProperty("before").GetString());
        Assert.Contains("\"persons\": 4", change.GetProperty("after").GetString());
        Assert.DoesNotContain(Name, change.GetProperty("before").GetString());

        var opens = await auditor.GetFromJsonAsync<JsonElement>("/v1/accounts/audit?rpc=OpenAccount");
        var open = opens.GetProperty("entries").EnumerateArray().Single();
        Assert.DoesNotContain(Phone, open.GetRawText());
        Assert.DoesNotContain(Name, open.GetRawText());

        using var operatorHttp = _host.CreateClient();
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorHttp.GetAsync("/v1/accounts/audit")).StatusCode);
        Assert.False((await auditor.DeleteAsync("/v1/accounts/audit")).IsSuccessStatusCode);
        Assert.False((await auditor.PostAsJsonAsync("/v1/accounts/audit", new { keyId = "x" })).IsSuccessStatusCode);
    }

    [Fact]
    public async Task A_channel_sees_the_balance_masked_and_is_rate_limited_per_key_until_the_second_is_over()
    {
        var userNumber = await OpenAccountAsync();
        await BalanceOnceKnownAsync(userNumber, Keys.Operator);
        await Task.Delay(1100);

        var wechat = PaymentsAs(Keys.WeChat);
        var balance = await wechat.GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber });
        Assert.Equal("欧**明", balance.HolderName);
        Assert.DoesNotContain("301", balance.Address);
        // The bucket holds 3 calls and refills each second: on a slow machine a refill may come between calls.
        RpcException? limited = null;
        var answered = 1;
        for (var i = 0; i < 30 && limited is null; i++)
        {
            try { await wechat.GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber }); answered++; }
            catch (RpcException ex) { limited = ex; }
        }
        Assert.NotNull(limited);
        Assert.True(answered >= 3, $"only {answered} calls answered before the limit");
        Assert.Equal(StatusCode.ResourceExhausted, limited.StatusCode);
        Assert.Contains("rate limit", limited.Status.Detail);

        // Another key is not affected; the operator is not limited at all.
        await PaymentsAs(Keys.Alipay).GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber });
        for (var i = 0; i < 5; i++)
            await PaymentsAs(Keys.Operator).GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber });

        await Task.Delay(1200);
        await wechat.GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber });

        using var json = _host.CreateClient();
        json.DefaultRequestHeaders.Remove(ApiKeyHandler.Header);
        json.DefaultRequestHeaders.Add(ApiKeyHandler.Header, "dev-website.website-dev-secret");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 30 && !statuses.Contains(HttpStatusCode.TooManyRequests); i++)
            statuses.Add((await json.GetAsync($"/v1/accounts/{userNumber}/balance")).StatusCode);
        Assert.True(statuses[^1] == HttpStatusCode.TooManyRequests, string.Join(",", statuses));
    }

    [Fact]
    public async Task Failed_user_number_lookups_are_counted_per_key_logged_and_slowed()
    {
        var wechat = PaymentsAs(Keys.WeChat);
        var times = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            var watch = Stopwatch.StartNew();
            var missing = await Assert.ThrowsAsync<RpcException>(() =>
                wechat.GetBalanceAsync(new GetBalanceRequest { UserNumber = Metering.Domain.UserNumber.FromBody(999_999_900 + i).Value }).ResponseAsync);
            times.Add(watch.Elapsed);
            Assert.Equal(StatusCode.NotFound, missing.StatusCode);
            await Task.Delay(400); // stay under the rate limit
        }

        var limits = _host.Services.GetRequiredService<AbuseLimits>();
        Assert.Equal(3, limits.FailedLookupCount("dev-wechat"));
        Assert.Equal(0, limits.FailedLookupCount("dev-alipay"));
        Assert.True(times[2] >= TimeSpan.FromMilliseconds(100), $"the third failure answered in {times[2]}");
        Assert.Contains(_logs.Lines, l => l.StartsWith("Warning") && l.Contains("dev-wechat") && l.Contains("slowed"));
    }

    [Fact]
    public async Task Logs_of_a_whole_flow_hold_no_phone_number_name_or_key_secret()
    {
        var userNumber = await OpenAccountAsync();
        await AccountsAs(Keys.Operator).ChangeAccountDetailsAsync(new ChangeAccountDetailsRequest
        {
            UserNumber = userNumber, HolderName = "欧阳大明", EffectiveOn = "2026-02-01",
        });
        await BalanceOnceKnownAsync(userNumber, Keys.Operator);
        await Task.Delay(1100);
        var wechat = PaymentsAs(Keys.WeChat);
        await wechat.GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber });
        await wechat.PostPaymentAsync(new PostPaymentRequest
        {
            UserNumber = userNumber, Channel = "wechat", ChannelTransactionId = "wx-1", AmountFen = 1000,
            PaidAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc)),
        });
        await Assert.ThrowsAsync<RpcException>(() => PaymentsAs("dev-operator.not-the-secret").GetBalanceAsync(
            new GetBalanceRequest { UserNumber = userNumber }).ResponseAsync);
        await Assert.ThrowsAsync<RpcException>(() => AccountsAs(Keys.Operator).OpenAccountAsync(new OpenAccountRequest
        {
            HolderName = Name, Phone = Phone, Persons = -1,
        }).ResponseAsync);

        Assert.NotEmpty(_logs.Lines);
        foreach (var secret in new[] { Phone, "13800001111", Name, "欧阳大明", "operator-dev-secret", "wechat-dev-secret", "not-the-secret" })
            Assert.DoesNotContain(_logs.Lines, l => l.Contains(secret));
    }

    [Fact]
    public void A_service_process_outside_development_refuses_to_start_without_configured_keys()
    {
        using var production = new ServiceFactory<PaymentsModule>().WithWebHostBuilder(b => b
            .UseEnvironment("Production").UseSetting("Security:DevelopmentKeys", "false"));
        var error = Assert.ThrowsAny<Exception>(() => production.Server);
        Assert.Contains("No API keys are configured", error.ToString());

        using var publicKeys = new ServiceFactory<PaymentsModule>().WithWebHostBuilder(b => b.UseEnvironment("Production"));
        Assert.Contains("development keys are public", Assert.ThrowsAny<Exception>(() => publicKeys.Server).ToString());
    }

    [Fact]
    public async Task Two_secrets_of_one_client_work_while_rotating_and_a_revoked_one_stops()
    {
        var settings = Keys.Configured(
            ("pos-7", "channel:counter", "old-secret", null, DateTimeOffset.UtcNow.AddMinutes(-1)),
            ("pos-7", "channel:counter", "new-secret", null, null),
            ("pos-8", "channel:counter", "first-secret", null, null),
            ("pos-8", "channel:counter", "second-secret", DateTimeOffset.UtcNow.AddDays(30), null));
        settings["Security:DevelopmentKeys"] = "false";
        using var host = new ServiceFactory<PaymentsModule>(settings);
        var method = Keys.Method("Payments", "GetBalance");

        Assert.Equal(StatusCode.Unauthenticated, await Keys.CallAsync(host.ChannelFor("pos-7.old-secret"), method));
        Assert.NotEqual(StatusCode.Unauthenticated, await Keys.CallAsync(host.ChannelFor("pos-7.new-secret"), method));
        Assert.NotEqual(StatusCode.Unauthenticated, await Keys.CallAsync(host.ChannelFor("pos-8.first-secret"), method));
        Assert.NotEqual(StatusCode.Unauthenticated, await Keys.CallAsync(host.ChannelFor("pos-8.second-secret"), method));
        Assert.Equal(StatusCode.Unauthenticated, await Keys.CallAsync(host.ChannelFor(Keys.Operator), method));
    }

    [Fact]
    public void Stored_hashes_are_salted_and_verify_only_their_secret()
    {
        var a = ApiKeyHasher.Hash("s3cret");
        var b = ApiKeyHasher.Hash("s3cret");

        Assert.NotEqual(a, b);
        Assert.DoesNotContain("s3cret", a);
        Assert.True(ApiKeyHasher.Verify("s3cret", a));
        Assert.True(ApiKeyHasher.Verify("s3cret", b));
        Assert.False(ApiKeyHasher.Verify("s3cret!", a));
        Assert.False(ApiKeyHasher.Verify("s3cret", "plain:s3cret"));
    }
}
