using System.ComponentModel;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Payments.V1;
using Metering.Contracts.Readings.V1;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli.Commands;

/// <summary>
/// The guided tour against a running standalone host: a community from survey to payments, with
/// every value fixed so the totals are the same on every run (see docs/operations.md).
/// </summary>
public sealed class DemoCommand : MeterCommand<DemoCommand.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandOption("--wechat-key <KEY>")]
        [Description("Key of the WeChat channel for its payment (default the development key dev-wechat.wechat-dev-secret).")]
        public string WechatKey { get; set; } = "dev-wechat.wechat-dev-secret";

        [CommandOption("--wait <SECONDS>")]
        [Description("How long to wait for events to cross the bus at each step (default 60).")]
        public int WaitSeconds { get; set; } = 60;
    }

    // The sample: two risers of two households; monthly consumption per unit in m³ (deterministic totals).
    private static readonly (string Riser, string Unit, string Holder, string Phone, int Persons, int MonthlyM3)[] Sample =
    [
        ("1单元", "101", "王小红", "13800000101", 3, 10),
        ("1单元", "102", "李建国", "13800000102", 2, 15),
        ("2单元", "201", "张三明", "13800000201", 4, 20),
        ("2单元", "202", "赵秀英", "13800000202", 1, 25),
    ];

    /// <summary>The unit whose statement is shown and paid for: 300 m³ a year, all three tiers.</summary>
    private const string StatementUnit = "202";
    public const long CounterFen = 30_000;
    public const long WechatFen = 50_000;

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        if (s.WaitSeconds <= 0)
            throw new UsageException("--wait: must be a positive number of seconds");
        var wait = TimeSpan.FromSeconds(s.WaitSeconds);
        // Last calendar year in the utility's zone: every date of the demo is then in the past.
        var year = DateTime.UtcNow.AddHours(8).Year - 1;
        var suffix = DateTime.UtcNow.ToString("MMddHHmmss", CultureInfo.InvariantCulture) + Random.Shared.Next(100, 1000);
        var name = $"示范小区{suffix}";
        string Day(int month, int day) => new DateOnly(year, month, day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var step = 0;
        void Step(string text) => o.Say($"\n[bold blue]{++step}.[/] [bold]{Format.Esc(text)}[/]");
        void Note(string text) => o.Say($"   {text}");

        o.Say($"[bold]meterctl demo[/]: a community from survey to payment on {Format.Esc(c.AccountsEndpoint)}, year {year}");

        Step($"Register the community {name} (completed 1998, state-owned land, in the city)");
        var community = await c.Accounts.CreateCommunityAsync(new CreateCommunityRequest
        {
            Name = name, District = "东昌府区", Subdistrict = "古楼街道", CompletedOn = "1998-05-01", Land = LandTenure.StateOwned, Settlement = Settlement.City,
        }, c.Unary(ct));
        Note($"community id {community.CommunityId}");

        Step("Import the survey: 1号楼, risers 1单元 and 2单元, two households each");
        var csv = new StringBuilder("community,building,riser,unit,holder,phone,persons\n");
        foreach (var h in Sample)
            csv.Append($"{name},1号楼,{h.Riser},{h.Unit},{h.Holder},{h.Phone},{h.Persons}\n");
        var survey = await c.Accounts.ImportSurveyAsync(new ImportSurveyRequest { CommunityId = community.CommunityId, Csv = csv.ToString() }, c.Unary(ct));
        Note($"{survey.Created} households created, {survey.Refused} refused");
        var risers = (await c.Accounts.ListRisersAsync(new ListRisersRequest { CommunityId = community.CommunityId }, c.Unary(ct))).Risers;
        var riser1 = risers.Single(r => r.Riser == "1单元");
        var riser2 = risers.Single(r => r.Riser == "2单元");
        if (!o.Json)
            o.Console.Write(RiserView.List(risers));

        Step($"Consent sheets: everyone signs except unit {StatementUnit}, which refuses");
        var households = riser1.Households.Concat(riser2.Households).ToDictionary(h => h.Unit);
        foreach (var h in Sample)
        {
            var household = households[h.Unit];
            await c.Accounts.RecordConsentAsync(new RecordConsentRequest
            {
                HouseholdId = household.HouseholdId, RiserId = household.RiserId, SignedBy = h.Holder, SignedOn = Day(1, 5),
                Decision = h.Unit == StatementUnit ? ConsentDecision.Refused : ConsentDecision.Consented,
            }, c.Unary(ct));
        }

        Step("Convert both risers: meters installed, an account per household");
        var accounts = new Dictionary<string, Account>();
        async Task Convert(RiserDetail riser)
        {
            var request = new ConvertRiserRequest { RiserId = riser.RiserId, CompletedOn = Day(1, 10) };
            request.Meters.AddRange(riser.Households.Select(h => new InstalledMeter { Unit = h.Unit, MeterSerial = $"DM-{suffix}-{h.Unit}", InitialRegisterLitres = 0 }));
            var converted = await c.Accounts.ConvertRiserAsync(request, c.Unary(ct));
            var units = riser.Households.ToDictionary(h => h.HouseholdId, h => h.Unit);
            foreach (var account in converted.Accounts)
                accounts[units[account.HouseholdId]] = account;
            Note($"riser {riser.Riser} converted: {string.Join(", ", converted.Accounts.Select(a => $"{a.UserNumber} {a.HolderName}"))}");
        }
        await Convert(riser1);
        try
        {
            await Convert(riser2);
            throw new DemoRefusedException("riser 2单元 was converted although one household refused");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
        {
            Note($"riser 2单元 refused, as it should be: [yellow]{Format.Esc(e.Status.Detail)}[/]");
        }
        var holdout = households[StatementUnit];
        await c.Accounts.RecordConsentAsync(new RecordConsentRequest
        {
            HouseholdId = holdout.HouseholdId, RiserId = holdout.RiserId, Decision = ConsentDecision.Consented, SignedBy = holdout.HolderName, SignedOn = Day(1, 8),
        }, c.Unary(ct));
        Note($"unit {StatementUnit} signs after all (consent recorded {Day(1, 8)}); converting again:");
        await Convert(riser2);

        Step("Hand the user numbers over to the owners' representative");
        var manifest = await c.Accounts.IssueHandoverAsync(new IssueHandoverRequest
        {
            CommunityId = community.CommunityId, Recipient = "业主代表 刘大成", HandedOverOn = Day(1, 15),
        }, c.Unary(ct));
        Note($"manifest {manifest.ManifestId}: {manifest.AccountCount} accounts");
        if (!o.Json)
            Handovers.Render(o.Console, manifest, null);

        Step($"A year of monthly readings ({Sample.Length} meters × 12 months), streamed as a route file");
        foreach (var account in accounts.Values)
            await Until(async () => (await c.Readings.ListReadingsAsync(new ListReadingsRequest { UserNumber = account.UserNumber }, c.Unary(ct))).Readings.Count > 0,
                $"Readings to learn of account {account.UserNumber}", wait, ct);
        var rows = new List<ReadingRow>();
        for (var month = 1; month <= 12; month++)
            foreach (var h in Sample)
                rows.Add(new ReadingRow
                {
                    UserNumber = accounts[h.Unit].UserNumber, ReadOn = Day(month, DateTime.DaysInMonth(year, month)),
                    RegisterLitres = h.MonthlyM3 * 1000L * month, Kind = ReadingKind.Actual,
                });
        var imported = await Progress.RunAsync(o, "readings", rows.Count, async report =>
        {
            using var call = c.Readings.StreamReadings(c.Streaming(ct));
            for (var i = 0; i < rows.Count; i += Sample.Length)
            {
                var batch = new ReadingRow();
                batch.Rows.AddRange(rows.Skip(i).Take(Sample.Length));
                await call.RequestStream.WriteAsync(batch, ct);
                report(i + Sample.Length, $"readings: {i + Sample.Length}/{rows.Count} sent");
            }
            await call.RequestStream.CompleteAsync();
            return await call.ResponseAsync;
        });
        Note($"{imported.Rows} readings: {imported.Accepted} accepted, {imported.Held} held, {imported.Refused} refused");
        if (imported.Accepted != rows.Count)
            throw new DemoRefusedException($"only {imported.Accepted} of {rows.Count} readings were accepted: {string.Join("; ", imported.Results.Select(r => r.Reason))}");
        foreach (var account in accounts.Values)
            await Until(async () => (await c.Billing.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = account.UserNumber }, c.Unary(ct))).LastReadOn == Day(12, 31),
                $"Billing to receive the readings of {account.UserNumber}", wait, ct);

        Step("Billing four times, at the end of each quarter");
        var runs = new JsonArray();
        var cutOffs = new[] { Day(3, 31), Day(6, 30), Day(9, 30), Day(12, 31) };
        foreach (var cutOff in cutOffs)
        {
            BillingRun run;
            try
            {
                run = await c.Billing.StartBillingRunAsync(new StartBillingRunRequest { CutOff = cutOff }, c.Unary(ct));
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition && e.Status.Detail.Contains("cut", StringComparison.OrdinalIgnoreCase))
            {
                // Runs never go back before the last completed cut-off; on a host that already billed
                // part of this year the demo's consumption is billed by the first run it may start.
                if (cutOff == cutOffs[^1])
                    throw new DemoRefusedException($"billing on this host has already run past {cutOff} ({e.Status.Detail}). " +
                                                   "The demo needs a host that has not billed beyond last year: stop it, delete its data folder " +
                                                   "(services/Metering.Standalone/data) and start it again.");
                Note($"cut-off {cutOff} skipped: [yellow]{Format.Esc(e.Status.Detail)}[/] (this host billed past it before; a later run bills it)");
                runs.Add(new JsonObject { ["cutOff"] = cutOff, ["skipped"] = e.Status.Detail });
                continue;
            }
            run = await BillingRuns.WatchAsync(c, o, run, ct);
            if (run.Status != BillingRunStatus.Completed)
                throw new DemoRefusedException($"billing run {run.RunId} ended {run.Status}: {run.FailureReason}");
            Note($"run {cutOff}: {run.AccountsBilled} account(s) billed, {run.BillsIssued} bill(s), {Format.Money(run.TotalFen)}");
            runs.Add(Format.ToNode(run));
        }

        long billedFen = 0, volume = 0;
        var bills = Output.Table("unit", "user number", "holder", "bills", "volume", "amount");
        foreach (var h in Sample)
        {
            var account = accounts[h.Unit];
            var list = await c.Billing.ListBillsAsync(new ListBillsRequest { UserNumber = account.UserNumber, Year = year }, c.Unary(ct));
            var live = list.Bills.Where(b => b.Status != "CANCELLED").ToList();
            billedFen += live.Sum(b => b.AmountFen);
            volume += live.Sum(b => b.VolumeLitres);
            bills.AddRow(h.Unit, account.UserNumber, Format.Esc(account.HolderName), live.Count.ToString(), Format.Volume(live.Sum(b => b.VolumeLitres)), Format.Money(live.Sum(b => b.AmountFen)));
        }
        if (!o.Json)
            o.Console.Write(bills);
        Note($"billed for {year}: {Format.Volume(volume)}, {Format.Money(billedFen)}");

        var payer = accounts[StatementUnit];
        Step($"The annual statement of unit {StatementUnit} ({payer.UserNumber}, {payer.HolderName})");
        var statement = await c.Billing.GetAnnualStatementAsync(new GetAnnualStatementRequest { UserNumber = payer.UserNumber, Year = year }, c.Unary(ct));
        if (!o.Json)
            Statements.Render(o.Console, statement);

        Step($"Payments: {Format.Money(CounterFen)} at the counter, then {Format.Money(WechatFen)} through WeChat");
        await Until(async () => (await c.Payments.GetBalanceAsync(new GetBalanceRequest { UserNumber = payer.UserNumber }, c.Unary(ct))).OutstandingFen == statement.TotalFen,
            $"Payments to receive the bills of {payer.UserNumber}", wait, ct);
        var counter = await c.Payments.PostPaymentAsync(new PostPaymentRequest
        {
            UserNumber = payer.UserNumber, Channel = "counter", ChannelTransactionId = $"demo-{suffix}-ctr", AmountFen = CounterFen, PaidAt = Timestamp.FromDateTime(DateTime.UtcNow),
        }, c.Unary(ct));
        Note($"counter receipt demo-{suffix}-ctr: outstanding {Format.Money(counter.OutstandingFen)}");
        var wechat = await c.Payments.PostPaymentAsync(new PostPaymentRequest
        {
            UserNumber = payer.UserNumber, Channel = "wechat", ChannelTransactionId = $"wx-demo-{suffix}", AmountFen = WechatFen, PaidAt = Timestamp.FromDateTime(DateTime.UtcNow),
        }, c.Unary(ct, s.WechatKey));
        Note($"WeChat transaction wx-demo-{suffix}: outstanding {Format.Money(wechat.OutstandingFen)}");

        Step("The balance");
        var balance = await c.Payments.GetBalanceAsync(new GetBalanceRequest { UserNumber = payer.UserNumber }, c.Unary(ct));
        if (!o.Json)
            PaymentView.Balance(o.Console, balance);

        var summary = new JsonObject
        {
            ["year"] = year,
            ["community"] = name,
            ["communityId"] = community.CommunityId,
            ["userNumbers"] = new JsonObject(Sample.Select(h => KeyValuePair.Create(h.Unit, (JsonNode?)accounts[h.Unit].UserNumber))),
            ["manifestId"] = manifest.ManifestId,
            ["readingsAccepted"] = imported.Accepted,
            ["billingRuns"] = runs,
            ["billedVolumeLitres"] = volume,
            ["billedFen"] = billedFen,
            ["statement"] = Format.ToNode(statement),
            ["paidFen"] = CounterFen + WechatFen,
            ["balance"] = Format.ToNode(balance),
        };
        return o.Result(summary, console =>
        {
            console.WriteLine();
            console.Write(new Panel(new Rows(
                new Markup($"accounts: [bold]{accounts.Count}[/] ({string.Join(", ", Sample.Select(h => accounts[h.Unit].UserNumber))})"),
                new Markup($"billed for {year}: [bold]{Format.Volume(volume)}[/], [bold]{Format.Money(billedFen)}[/]"),
                new Markup($"statement of {payer.UserNumber}: [bold]{Format.Volume(statement.VolumeLitres)}[/], [bold]{Format.Money(statement.TotalFen)}[/]"),
                new Markup($"paid: [bold]{Format.Money(CounterFen + WechatFen)}[/] (counter + WeChat)"),
                new Markup($"balance: outstanding [bold]{Format.Money(balance.OutstandingFen)}[/], credit {Format.Money(balance.CreditFen)}"))).Header("demo done"));
            console.MarkupLine($"Now try it by hand, e.g. [green]meterctl payment balance {payer.UserNumber}[/] or [green]meterctl billing statement {payer.UserNumber} --year {year}[/].");
        });
    }

    /// <summary>Events cross the bus asynchronously: poll until the other service has caught up.</summary>
    private static async Task Until(Func<Task<bool>> probe, string what, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            try
            {
                if (await probe())
                    return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // Not there yet.
            }
            if (DateTime.UtcNow > deadline)
                throw new DemoRefusedException($"timed out after {wait.TotalSeconds:F0} s waiting for {what}");
            await Task.Delay(100, ct);
        }
    }
}
