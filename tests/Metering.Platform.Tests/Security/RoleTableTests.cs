using Grpc.Core;
using Metering.Hosting.Security;
using Metering.Standalone;
using Metering.Testing;

namespace Metering.Platform.Tests.Security;

/// <summary>
/// Issue 8's role table, written out by hand: for each role the RPCs it may call; every other RPC
/// must answer PERMISSION_DENIED to it, and every RPC UNAUTHENTICATED without a valid key.
/// </summary>
public sealed class RoleTableTests : IDisposable
{
    private static readonly string[] Reads =
    [
        "Accounts/GetAccount", "Accounts/SearchAccounts", "Accounts/GetAccountHistory", "Accounts/GetRiser", "Accounts/ListRisers",
        "Accounts/GetCostReport", "Accounts/ListHandovers", "Accounts/GetHandover",
        "Readings/ListReadings", "Readings/ListHeldReadings", "Readings/GetReadingHistory",
        "Billing/GetBillingRun", "Billing/WatchBillingRun", "Billing/GetBill", "Billing/ListBills", "Billing/GetAnnualStatement",
        "Billing/GetUnbilledConsumption", "Billing/ListTariffVersions", "Billing/GetTariffInForce",
        "Payments/GetBalance", "Payments/GetAccountLedger",
    ];

    private static readonly string[] ChannelRpcs =
        ["Payments/GetBalance", "Payments/PostPayment", "Payments/ReversePayment", "Payments/ReconcileStatement"];

    private static readonly string[] AdminRpcs = ["Billing/CreateTariffVersion", "Billing/ListTariffVersions", "Billing/GetTariffInForce"];

    public static TheoryData<string, string> Table()
    {
        var data = new TheoryData<string, string>();
        foreach (var role in new[] { "operator", "admin", "auditor", "channel:wechat" })
            foreach (var method in Keys.AllMethods)
                data.Add(role, $"{method.Service.Name}/{method.Name}");
        return data;
    }

    private static bool MayCall(string role, string rpc) => role switch
    {
        "operator" => rpc != "Billing/CreateTariffVersion",
        "admin" => AdminRpcs.Contains(rpc),
        "auditor" => Reads.Contains(rpc),
        "channel:wechat" => ChannelRpcs.Contains(rpc),
        _ => false,
    };

    private static readonly DateTimeOffset Past = DateTimeOffset.UtcNow.AddDays(-1);

    private readonly ServiceFactory<StandaloneHost> _host = new(new Dictionary<string, string?>(Keys.Configured(
        ("expired", "operator", "expired-secret", Past, null),
        ("revoked", "operator", "revoked-secret", null, Past)))
    {
        ["Security:DevelopmentKeys"] = "true",
        // The table makes many failed look-ups on purpose; they must not slow it down.
        ["Security:FailedLookupsBeforeDelay"] = "100000",
        ["Security:ChannelRateLimit:PermitsPerSecond"] = "100000",
    });

    public void Dispose() => _host.Dispose();

    private static string KeyOf(string role) => role switch
    {
        "operator" => Keys.Operator,
        "admin" => Keys.Admin,
        "auditor" => Keys.Auditor,
        _ => Keys.WeChat,
    };

    [Theory]
    [MemberData(nameof(Table))]
    public async Task Each_role_calls_exactly_the_RPCs_of_its_row(string role, string rpc)
    {
        var method = Keys.Method(rpc.Split('/')[0], rpc.Split('/')[1]);

        var status = await Keys.CallAsync(_host.ChannelFor(KeyOf(role)), method, channel: Roles.ChannelOf(role));

        if (MayCall(role, rpc))
            Assert.True(status is not (StatusCode.PermissionDenied or StatusCode.Unauthenticated), $"{role} was refused {rpc}: {status}");
        else
            Assert.Equal(StatusCode.PermissionDenied, status);
    }

    public static TheoryData<string> EveryRpc()
    {
        var data = new TheoryData<string>();
        foreach (var method in Keys.AllMethods)
            data.Add($"{method.Service.Name}/{method.Name}");
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryRpc))]
    public async Task No_RPC_answers_without_a_key_or_with_an_expired_revoked_or_wrong_one(string rpc)
    {
        var method = Keys.Method(rpc.Split('/')[0], rpc.Split('/')[1]);

        foreach (var key in new[] { null, "expired.expired-secret", "revoked.revoked-secret", "dev-operator.wrong-secret", "nobody.secret", "garbage" })
            Assert.Equal(StatusCode.Unauthenticated, await Keys.CallAsync(_host.ChannelFor(key), method));
    }

    [Fact]
    public async Task Channel_keys_act_only_as_their_own_channel()
    {
        foreach (var rpc in new[] { "PostPayment", "ReversePayment", "ReconcileStatement" })
        {
            var method = Keys.Method("Payments", rpc);
            Assert.Equal(StatusCode.PermissionDenied, await Keys.CallAsync(_host.ChannelFor(Keys.WeChat), method, channel: "alipay"));
            Assert.Equal(StatusCode.PermissionDenied, await Keys.CallAsync(_host.ChannelFor(Keys.Alipay), method, channel: "wechat"));
            Assert.NotEqual(StatusCode.PermissionDenied, await Keys.CallAsync(_host.ChannelFor(Keys.Alipay), method, channel: "alipay"));
        }
    }

    [Fact]
    public async Task The_denial_says_which_role_may_not_call_what()
    {
        var client = new Contracts.Billing.V1.Billing.BillingClient(_host.ChannelFor(Keys.Operator));

        var denied = await Assert.ThrowsAsync<RpcException>(() =>
            client.CreateTariffVersionAsync(new Contracts.Billing.V1.CreateTariffVersionRequest()).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("operator", denied.Status.Detail);
        Assert.Contains("CreateTariffVersion", denied.Status.Detail);
    }

    [Fact]
    public async Task JSON_routes_and_the_handover_download_need_a_key_too_but_health_does_not()
    {
        using var anonymous = _host.CreateClientWithKey(null);
        using var channel = _host.CreateClientWithKey(Keys.WeChat);
        using var auditor = _host.CreateClientWithKey(Keys.Auditor);
        var download = $"/v1/handovers/{Guid.NewGuid()}/manifest.csv";

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/accounts/100000001/balance")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync(download)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await channel.GetAsync(download)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await auditor.GetAsync(download)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public void Every_RPC_of_every_service_has_a_declared_policy()
    {
        var table = new PolicyTable(PolicyTable.Discover(StandaloneHost.Modules()));

        var undeclared = PolicyTable.Undeclared(Keys.Services, table).ToList();

        Assert.True(undeclared.Count == 0, "RPCs without an access policy: " + string.Join(", ", undeclared));
        Assert.Equal(Keys.AllMethods.Count(), table.Policies.SelectMany(p => p.Rules).Count());
    }
}
