using System.Globalization;
using System.Text.Json;
using Metering.Cli;

namespace Metering.Cli.Tests;

/// <summary>Every command group through the real host: happy path, a refusal, --json, and the exit codes.</summary>
public sealed class MeterctlTests(StandaloneHostFixture host) : IClassFixture<StandaloneHostFixture>
{
    private static readonly int LastYear = DateTime.UtcNow.AddHours(8).Year - 1;
    private static string Day(int month, int day) => new DateOnly(LastYear, month, day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static JsonElement Json(CliResult result)
    {
        Assert.True(result.Exit == 0, result.ToString());
        using var document = JsonDocument.Parse(result.Out);
        return document.RootElement.Clone();
    }

    private static void Refused(CliResult result, string reason)
    {
        Assert.True(result.Exit == ExitCodes.Refused, result.ToString());
        Assert.Contains(reason, result.Error);
    }

    private async Task<string> OpenAccount(string phone)
    {
        var opened = Json(await host.Run("account", "open", "--holder", "孙丽", "--address", "东昌府区 测试小区 1号楼 1单元 " + phone[^3..],
            "--phone", phone, "--persons", "3", "--meter", "T-" + phone, "--opened-on", Day(1, 1), "--json"));
        return opened.GetProperty("userNumber").GetString()!;
    }

    [Fact]
    public async Task Demo_completes_with_the_documented_totals_and_runs_again_on_the_same_host()
    {
        var first = await host.Run("demo");
        Assert.True(first.Exit == 0, first.ToString());
        Assert.Contains("3,222.84 CNY", first.Out);     // billed for the year
        Assert.Contains("840.000 m³", first.Out);
        Assert.Contains("1,307.28 CNY", first.Out);     // the statement of unit 202
        Assert.Contains("outstanding 507.28 CNY", first.Out);
        Assert.Contains("refused, as it should be", first.Out);

        // Again on the same host, as JSON: a new community, the same totals.
        var second = Json(await host.Run("demo", "--json"));
        Assert.Equal(LastYear, second.GetProperty("year").GetInt32());
        Assert.Equal(840_000, second.GetProperty("billedVolumeLitres").GetInt64());
        Assert.Equal(322_284, second.GetProperty("billedFen").GetInt64());
        Assert.Equal("130728", second.GetProperty("statement").GetProperty("totalFen").GetString());
        Assert.Equal("300000", second.GetProperty("statement").GetProperty("volumeLitres").GetString());
        Assert.Equal(80_000, second.GetProperty("paidFen").GetInt64());
        Assert.Equal("50728", second.GetProperty("balance").GetProperty("outstandingFen").GetString());
        Assert.Equal(4, second.GetProperty("userNumbers").EnumerateObject().Count());
    }

    [Fact]
    public async Task Community_and_riser_commands_take_a_survey_to_conversion()
    {
        var name = "测试小区" + Guid.NewGuid().ToString("N")[..6];
        var community = Json(await host.Run("community", "create", name, "--district", "东昌府区", "--subdistrict", "古楼街道", "--completed-on", "1999-01-01", "--json"));
        var id = community.GetProperty("communityId").GetString()!;

        var file = Path.Combine(host.DataDirectory, $"survey-{name}.csv");
        await File.WriteAllTextAsync(file, "community,building,riser,unit,holder,phone,persons\n" +
            $"{name},5号楼,1单元,101,周强,13900000101,2\n{name},5号楼,1单元,102,吴芳,13900000102,3\n{name},5号楼,1单元,103,郑伟,12,3\n");
        var import = await host.Run("riser", "import", id, file);
        Assert.True(import.Exit == 0, import.ToString());
        Assert.Contains("2 created", import.Out);
        Assert.Contains("1 refused", import.Out);
        var errors = await File.ReadAllLinesAsync(file + ".errors.csv");
        Assert.Equal(["community,building,riser,unit,holder,phone,persons", $"{name},5号楼,1单元,103,郑伟,12,3"], errors);

        var risers = Json(await host.Run("community", "risers", id, "--json")).GetProperty("risers");
        var riser = risers[0];
        var riserId = riser.GetProperty("riserId").GetString()!;
        var households = riser.GetProperty("households").EnumerateArray().ToList();
        Assert.Equal(2, households.Count);
        var shown = await host.Run("riser", "show", riserId);
        Assert.Contains("周强", shown.Out);

        // One refusal blocks the conversion: exit 1 and the service's reason.
        foreach (var h in households)
        {
            var unit = h.GetProperty("unit").GetString();
            var consent = await host.Run(["riser", "consent", h.GetProperty("householdId").GetString()!, "--riser", riserId, "--signed-by", "户主",
                "--signed-on", Day(2, 1), .. unit == "102" ? new[] { "--refused" } : []]);
            Assert.True(consent.Exit == 0, consent.ToString());
        }
        var blocked = await host.Run("riser", "convert", riserId, "--completed-on", Day(2, 10), "--meter", "101=M5-101", "--meter", "102=M5-102");
        Refused(blocked, "102");

        var household102 = households.Single(h => h.GetProperty("unit").GetString() == "102").GetProperty("householdId").GetString()!;
        Assert.Equal(0, (await host.Run("riser", "consent", household102, "--riser", riserId, "--signed-by", "吴芳", "--signed-on", Day(2, 2))).Exit);
        var converted = Json(await host.Run("riser", "convert", riserId, "--completed-on", Day(2, 10), "--meter", "101=M5-101", "--meter", "102=M5-102:1500", "--json"));
        Assert.Equal(2, converted.GetProperty("accounts").GetArrayLength());

        var manifestFile = Path.Combine(host.DataDirectory, $"handover-{name}.csv");
        var handover = await host.Run("community", "handover", id, "--recipient", "业主代表", "--on", Day(2, 15), "--out", manifestFile);
        Assert.True(handover.Exit == 0, handover.ToString());
        Assert.Contains("吴芳", await File.ReadAllTextAsync(manifestFile));
        Assert.Equal(1, Json(await host.Run("community", "handovers", "--community", id, "--json")).GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public async Task Account_commands_show_find_change_and_refuse_a_bad_user_number()
    {
        var user = await OpenAccount("13700000201");
        var shown = await host.Run("account", "show", user);
        Assert.True(shown.Exit == 0, shown.ToString());
        Assert.Contains("孙丽", shown.Out);
        var found = Json(await host.Run("account", "find", "--phone", "13700000201", "--json"));
        Assert.Contains(found.GetProperty("accounts").EnumerateArray(), a => a.GetProperty("userNumber").GetString() == user);
        var changed = Json(await host.Run("account", "change", user, "--persons", "4", "--effective-on", Day(3, 1), "--json"));
        Assert.Equal(4, changed.GetProperty("persons").GetInt32());
        Assert.Equal(0, (await host.Run("account", "history", user)).Exit);

        Refused(await host.Run("account", "show", "1000000017"), "check digit");
    }

    [Fact]
    public async Task Reading_commands_record_import_and_refuse_a_reading_in_the_future()
    {
        var user = await OpenAccount("13700000301");
        await Eventually(async () => (await host.Run("reading", "list", user)).Exit == 0);
        var recorded = Json(await host.Run("reading", "record", user, "--on", Day(3, 31), "--m3", "100", "--json"));
        Assert.Equal("100000", recorded.GetProperty("consumptionLitres").GetString());

        var file = Path.Combine(host.DataDirectory, $"route-{user}.csv");
        await File.WriteAllTextAsync(file, $"user_number,read_on,register_litres,kind\n{user},{Day(6, 30)},150000,ACTUAL\n{user},{Day(7, 31)},lots,ACTUAL\n1000000017,{Day(6, 30)},1000,\n");
        var import = await host.Run("reading", "import", file);
        Assert.True(import.Exit == 0, import.ToString());
        Assert.Contains("1 accepted", import.Out);
        var errors = await File.ReadAllLinesAsync(file + ".errors.csv");
        Assert.Equal(3, errors.Length);                                    // header + the two bad rows, ready to fix
        Assert.Contains(errors, l => l.Contains("lots"));
        Assert.Contains(errors, l => l.StartsWith("1000000017"));

        var list = Json(await host.Run("reading", "list", user, "--json"));
        Assert.True(list.GetProperty("readings").GetArrayLength() >= 3);
        Assert.Equal(0, (await host.Run("reading", "held")).Exit);
        Assert.Equal(0, (await host.Run("reading", "history", user)).Exit);

        Refused(await host.Run("reading", "record", user, "--on", DateTime.UtcNow.AddDays(3).ToString("yyyy-MM-dd"), "--litres", "200000"), "future");
    }

    [Fact]
    public async Task Tariff_commands_list_show_and_refuse_a_version_already_in_force()
    {
        var list = Json(await host.Run("tariff", "list", "--json"));
        Assert.True(list.GetProperty("versions").GetArrayLength() >= 1);
        var shown = await host.Run("tariff", "show", "--on", Day(6, 30));
        Assert.Contains("3.32 CNY per m³", shown.Out);

        var file = Path.Combine(host.DataDirectory, "tariff-past.json");
        await File.WriteAllTextAsync(file, "{\"version\":{\"name\":\"past\",\"effectiveFrom\":\"2001-01-01\",\"tiers\":[{\"tier\":1,\"priceFenPerM3\":300}]}}");
        Refused(await host.Run("tariff", "add", file), "PermissionDenied");          // tariffs are the admin's
        Refused(await host.Run("tariff", "add", file, "--api-key", "dev-admin.admin-dev-secret"), "effective_from");
    }

    [Fact]
    public async Task Billing_commands_trial_and_refuse_a_cut_off_in_the_future()
    {
        var trial = await host.Run("billing", "trial", "--cut-off", Day(12, 31));
        Assert.True(trial.Exit == 0, trial.ToString());
        Assert.Contains("Completed", trial.Out);
        Assert.Contains("trial", trial.Out);
        var json = Json(await host.Run("billing", "trial", "--cut-off", Day(12, 31), "--json"));
        Assert.Equal("COMPLETED", json.GetProperty("status").GetString());
        var status = Json(await host.Run("billing", "status", json.GetProperty("runId").GetString()!, "--json"));
        Assert.True(status.GetProperty("trial").GetBoolean());

        Refused(await host.Run("billing", "run", "--cut-off", DateTime.UtcNow.AddDays(5).ToString("yyyy-MM-dd")), "cut_off");
    }

    [Fact]
    public async Task Payment_commands_post_at_the_counter_and_refuse_an_unknown_reversal()
    {
        var user = await OpenAccount("13700000401");
        await Eventually(async () => (await host.Run("payment", "balance", user)).Exit == 0);
        var posted = Json(await host.Run("payment", "post", user, "--amount", "12.50", "--transaction", "ctr-test-" + user, "--json"));
        Assert.Equal("1250", posted.GetProperty("creditFen").GetString());
        var balance = await host.Run("payment", "balance", user);
        Assert.Contains("12.50 CNY", balance.Out);
        Assert.Equal(0, (await host.Run("payment", "ledger", user)).Exit);

        Refused(await host.Run("payment", "reverse", "no-such-transaction", "--channel", "counter"), "no-such-transaction");
    }

    [Fact]
    public async Task An_unreachable_service_is_exit_code_3()
    {
        var result = await StandaloneHostFixture.RunAgainst("http://127.0.0.1:1", "account", "show", "1000000016");
        Assert.True(result.Exit == ExitCodes.Unreachable, result.ToString());
        Assert.Contains("cannot reach", result.Error);
    }

    [Theory]
    [InlineData("no-such-group")]
    [InlineData("account", "show")]
    [InlineData("reading", "record", "1000000016", "--on", "31/03/2026", "--litres", "1")]
    [InlineData("payment", "post", "1000000016", "--amount", "12.345")]
    public async Task A_usage_error_is_exit_code_2_and_sends_nothing(params string[] args)
    {
        // No endpoint listens at port 1: had anything been sent, the exit code would be 3.
        var result = await StandaloneHostFixture.RunAgainst("http://127.0.0.1:1", args);
        Assert.True(result.Exit == ExitCodes.Usage, result.ToString());
    }

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (await condition())
                return;
            await Task.Delay(100);
        }
        Assert.Fail("the condition did not become true in 10 s");
    }
}
