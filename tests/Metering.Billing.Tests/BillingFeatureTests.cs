using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using MassTransit;
using Metering.Billing.Data;
using Metering.Billing.Domain;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Grpc;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using BillingClient = Metering.Contracts.Billing.V1.Billing.BillingClient;
using Proto = Metering.Contracts.Billing.V1;

namespace Metering.Billing.Tests;

/// <summary>Tariff versions, trial runs, progress, corrections, statements: through gRPC (and JSON) on real SQLite.</summary>
public sealed class BillingFeatureTests : IDisposable
{
    private readonly ServiceFactory<BillingModule> _host = new(new Dictionary<string, string?>
    {
        ["Billing:ProgressIntervalMilliseconds"] = "50",
    });

    public void Dispose() => _host.Dispose();

    private BillingClient Client => new(_host.Channel);

    // Tariffs are the admin's (security contract): its development key.
    private const string AdminKey = "dev-admin.admin-dev-secret";

    private BillingClient Admin => new(_host.ChannelFor(AdminKey));

    private IBus Bus => _host.Services.GetRequiredService<IBus>();

    private static string User(int serial) => UserNumber.FromBody(300_000_000 + serial).Value;

    private static DateOnly D(string text) => DateOnly.ParseExact(text, DateText.Pattern, CultureInfo.InvariantCulture);

    private async Task OpenAsync(string user, int persons = 3, string openedOn = "2025-01-01")
    {
        await Bus.Publish(new AccountOpened(user, "王小明", "东昌府区 幸福小区 3号楼", "13800000002", persons, $"M-{user}", 0,
            D(openedOn), DateTimeOffset.UtcNow));
        await Eventually.Get(() => WithDbAsync(db => db.Accounts.AnyAsync(a => a.UserNumber == user)), known => known,
            what: $"account {user} to reach Billing");
    }

    private static ReadingAccepted Reading(string user, string from, long previous, string to, long register) =>
        new(NewId.NextGuid(), user, D(from), previous, D(to), register, register - previous, "actual", DateTimeOffset.UtcNow);

    private async Task<ReadingAccepted> ReadAsync(string user, string from, long previous, string to, long register)
    {
        var reading = Reading(user, from, previous, to, register);
        await Bus.Publish(reading);
        await Eventually.Get(() => WithDbAsync(db => db.Consumptions.AnyAsync(c => c.ReadingId == reading.ReadingId)), r => r,
            what: $"reading {to} to reach Billing");
        return reading;
    }

    private async Task<Proto.BillingRun> RunAsync(string cutOff, bool trial = false)
    {
        var started = await Client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = cutOff, Trial = trial });
        return await Eventually.Get(() => Client.GetBillingRunAsync(new GetBillingRunRequest { RunId = started.RunId }).ResponseAsync,
            r => r.Status is Proto.BillingRunStatus.Completed or Proto.BillingRunStatus.Failed, what: "the run to end");
    }

    private async Task<T> WithDbAsync<T>(Func<BillingDbContext, Task<T>> query)
    {
        using var scope = _host.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<BillingDbContext>());
    }

    private static Proto.TariffVersion Version(string name, string from, long price1 = 350, long upTo1 = 144_000) => new()
    {
        Name = name,
        EffectiveFrom = from,
        Tiers =
        {
            new Proto.TariffTier { Tier = 1, UpToLitres = upTo1, PriceFenPerM3 = price1 },
            new Proto.TariffTier { Tier = 2, UpToLitres = 240_000, PriceFenPerM3 = 450 },
            new Proto.TariffTier { Tier = 3, UpToLitres = 0, PriceFenPerM3 = 750 },
        },
    };

    [Fact]
    public async Task The_default_tariff_is_seeded_and_a_future_version_can_be_added()
    {
        var seeded = await Client.GetTariffInForceAsync(new GetTariffInForceRequest());
        Assert.Equal("liaocheng-residential", seeded.Name);
        Assert.Equal([(144_000L, 332L), (240_000L, 425L), (0L, 702L)], seeded.Tiers.Select(t => (t.UpToLitres, t.PriceFenPerM3)));
        Assert.Equal((0, 0L), (seeded.BaseHouseholdSize, seeded.ExtraLitresPerPerson));

        var future = Version("liaocheng-2030", "2030-01-01");
        future.BaseHouseholdSize = 5;
        future.ExtraLitresPerPerson = 30_000;
        var created = await Admin.CreateTariffVersionAsync(new CreateTariffVersionRequest { Version = future });

        Assert.Equal(future, created);
        var listed = await Client.ListTariffVersionsAsync(new ListTariffVersionsRequest());
        Assert.Equal(["liaocheng-residential", "liaocheng-2030"], listed.Versions.Select(v => v.Name));
        Assert.Equal("liaocheng-residential", (await Client.GetTariffInForceAsync(new GetTariffInForceRequest { On = "2029-12-31" })).Name);
        Assert.Equal("liaocheng-2030", (await Client.GetTariffInForceAsync(new GetTariffInForceRequest { On = "2030-01-01" })).Name);
    }

    public static TheoryData<string, Proto.TariffVersion, string> BadVersions => new()
    {
        { "in force already", Version("past", "2020-01-01"), "version.effective_from" },
        { "overlapping the seeded one", Version("same-day", "2000-01-01"), "version.effective_from" },
        { "non-increasing thresholds", Version("flat", "2031-01-01", upTo1: 240_000), "version.tiers[1].up_to_litres" },
        { "a zero price", Version("free", "2031-01-01", price1: 0), "version.tiers[0].price_fen_per_m3" },
        { "a negative price", Version("paid-to-use", "2031-01-01", price1: -5), "version.tiers[0].price_fen_per_m3" },
        { "no name", Version("", "2031-01-01"), "version.name" },
        { "a bad date", Version("bad-date", "2031-02-30"), "version.effective_from" },
    };

    [Theory]
    [MemberData(nameof(BadVersions))]
    public async Task A_bad_tariff_version_is_refused_with_the_field_and_nothing_is_written(string why, Proto.TariffVersion version, string field)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Admin.CreateTariffVersionAsync(new CreateTariffVersionRequest { Version = version }).ResponseAsync);

        Assert.True(StatusCode.InvalidArgument == error.StatusCode, why);
        Assert.Equal(field, ErrorDetails.ViolatedField(error));
        Assert.Equal(1, await WithDbAsync(db => db.TariffVersions.CountAsync()));
    }

    [Fact]
    public async Task A_second_version_on_a_day_already_taken_is_refused()
    {
        await Admin.CreateTariffVersionAsync(new CreateTariffVersionRequest { Version = Version("a", "2031-01-01") });

        var sameDay = await Assert.ThrowsAsync<RpcException>(() =>
            Admin.CreateTariffVersionAsync(new CreateTariffVersionRequest { Version = Version("b", "2031-01-01") }).ResponseAsync);
        var sameName = await Assert.ThrowsAsync<RpcException>(() =>
            Admin.CreateTariffVersionAsync(new CreateTariffVersionRequest { Version = Version("a", "2032-01-01") }).ResponseAsync);

        Assert.Equal("version.effective_from", ErrorDetails.ViolatedField(sameDay));
        Assert.Equal(StatusCode.AlreadyExists, sameName.StatusCode);
        Assert.Equal(2, await WithDbAsync(db => db.TariffVersions.CountAsync()));
    }

    [Fact]
    public async Task A_trial_run_reports_the_totals_of_the_real_run_and_issues_nothing()
    {
        var users = Enumerable.Range(1, 4).Select(User).ToList();
        foreach (var (user, i) in users.Select((u, i) => (u, i)))
        {
            await OpenAsync(user);
            await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 100_000 + 50_000 * i);
        }

        var trial = await RunAsync("2026-03-31", trial: true);

        Assert.True(trial.Trial);
        Assert.Equal(Proto.BillingRunStatus.Completed, trial.Status);
        Assert.Equal(0, await WithDbAsync(db => db.Bills.CountAsync()));
        Assert.Equal(0, await WithDbAsync(db => db.YearPositions.CountAsync()));
        Assert.Equal(4, await WithDbAsync(db => db.Consumptions.CountAsync(c => c.BillId == null)));
        Assert.Equal(0, await WithDbAsync(db => db.OutboxMessages.CountAsync(m => m.MessageType.StartsWith(typeof(BillIssued).FullName!))));

        var real = await RunAsync("2026-03-31");

        long expected = new[] { 100_000L, 150_000, 200_000, 250_000 }.Sum(Tariff.Liaocheng.RoundedCharge);
        Assert.Equal((4, 4, expected, 700_000L), (trial.AccountsBilled, trial.AccountsTotal, trial.TotalFen, trial.VolumeLitres));
        Assert.Equal((trial.AccountsBilled, trial.TotalFen, trial.VolumeLitres), (real.AccountsBilled, real.TotalFen, real.VolumeLitres));
        Assert.Equal(4, await WithDbAsync(db => db.Bills.CountAsync()));
    }

    [Fact]
    public async Task The_progress_stream_reports_until_the_run_has_ended()
    {
        using var host = new ServiceFactory<BillingModule>(new Dictionary<string, string?>
        {
            ["Billing:ProgressIntervalMilliseconds"] = "20",
            ["Billing:RunChunkSize"] = "2",
            ["Billing:RunBatchSize"] = "1",
        });
        var client = new BillingClient(host.Channel);
        var bus = host.Services.GetRequiredService<IBus>();
        var users = Enumerable.Range(10, 5).Select(User).ToList();
        foreach (var user in users)
        {
            await bus.Publish(new AccountOpened(user, "李四", "幸福小区", "13900000000", 2, $"M-{user}", 0, D("2026-01-01"), DateTimeOffset.UtcNow));
            await bus.Publish(Reading(user, "2026-01-01", 0, "2026-03-31", 100_000));
        }
        await Eventually.Get(async () =>
        {
            using var scope = host.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
            return (await db.Accounts.CountAsync(), await db.Consumptions.CountAsync());
        }, n => n == (5, 5), what: "accounts and readings");

        var started = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" });
        using var watch = client.WatchBillingRun(new GetBillingRunRequest { RunId = started.RunId });
        var updates = new List<Proto.BillingRun>();
        await foreach (var update in watch.ResponseStream.ReadAllAsync())
            updates.Add(update);

        var last = updates[^1];
        Assert.Equal(Proto.BillingRunStatus.Completed, last.Status);
        Assert.Equal((5, 5, 3, 3, 5 * 33_200L), (last.AccountsTotal, last.AccountsBilled, last.ChunksTotal, last.ChunksDone, last.TotalFen));
        Assert.All(updates.Zip(updates.Skip(1)), pair => Assert.True(pair.Second.AccountsBilled >= pair.First.AccountsBilled));
        Assert.Equal(updates.Count, updates.Distinct().Count());
    }

    [Fact]
    public async Task A_cut_off_before_the_last_completed_run_is_refused()
    {
        var user = User(20);
        await OpenAsync(user);
        await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 10_000);
        await RunAsync("2026-03-31");

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-30" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("cut_off", ErrorDetails.ViolatedField(error));
        Assert.Contains("2026-03-31", error.Status.Detail);
        Assert.Equal(1, await WithDbAsync(db => db.Runs.CountAsync()));
    }

    [Fact]
    public async Task A_corrected_billed_reading_cancels_its_bill_and_rebills_keeping_the_year_right()
    {
        var user = User(30);
        await OpenAsync(user);
        var first = await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 100_000);
        await RunAsync("2026-03-31");
        await ReadAsync(user, "2026-03-31", 100_000, "2026-06-30", 150_000);
        await RunAsync("2026-06-30");

        // The first reading was really 120 m³: its consumption grows by 20 m³, the next one's shrinks by 20 m³.
        await Bus.Publish(new ReadingCorrected(first.ReadingId, user, D("2026-01-01"), D("2026-03-31"), 100_000, 120_000, 0, 120_000,
            "misread register", DateTimeOffset.UtcNow));
        var bills = await Eventually.Get(() => Client.ListBillsAsync(new ListBillsRequest { UserNumber = user }).ResponseAsync,
            l => l.Bills.Count == 3, what: "the corrected bill");

        var cancelled = bills.Bills.Single(b => b.Status == "CANCELLED");
        var corrected = bills.Bills.Single(b => b.ReplacesBillId == cancelled.BillId);
        Assert.Equal(corrected.BillId, cancelled.ReplacedByBillId);
        Assert.Contains("misread register", cancelled.CancelReason);
        Assert.NotEmpty(cancelled.CancelledAt);
        Assert.Equal(120_000, corrected.VolumeLitres);
        Assert.Equal(corrected.AmountFen, corrected.Lines.Sum(l => l.AmountFen));
        Assert.Equal(cancelled, await Client.GetBillAsync(new GetBillRequest { BillId = cancelled.BillId }));

        var statement = await Client.GetAnnualStatementAsync(new GetAnnualStatementRequest { UserNumber = user, Year = 2026 });
        Assert.Equal(170_000, statement.VolumeLitres);
        Assert.Equal(Tariff.Liaocheng.RoundedCharge(170_000), statement.TotalFen);
        Assert.Equal(2, statement.Bills.Count);

        var events = await Eventually.Get(() => WithDbAsync(db => db.OutboxMessages.AsNoTracking()
                .Where(m => m.MessageType.StartsWith(typeof(BillCancelled).FullName!)).Select(m => m.Body).ToListAsync()),
            rows => rows.Count == 1, what: "BillCancelled");
        var billCancelled = JsonSerializer.Deserialize<BillCancelled>(events[0])!;
        Assert.Equal((Guid.Parse(cancelled.BillId), cancelled.AmountFen, Guid.Parse(corrected.BillId)),
            (billCancelled.BillId, billCancelled.AmountFen, billCancelled.ReplacedByBillId));

        // The second reading's correction follows: the year ends where the true readings say.
        var second = await WithDbAsync(db => db.Consumptions.Where(c => c.UserNumber == user && c.ReadOn == D("2026-06-30")).SingleAsync());
        await Bus.Publish(new ReadingCorrected(second.ReadingId, user, D("2026-03-31"), D("2026-06-30"), 50_000, 30_000, 120_000, 150_000,
            "misread register", DateTimeOffset.UtcNow));
        var after = await Eventually.Get(() => Client.GetAnnualStatementAsync(new GetAnnualStatementRequest { UserNumber = user, Year = 2026 }).ResponseAsync,
            s => s.VolumeLitres == 150_000, what: "the second correction");
        Assert.Equal(Tariff.Liaocheng.RoundedCharge(150_000), after.TotalFen);
        Assert.Equal([(1, 144_000L, 47_808L), (2, 6_000L, 2_550L)], after.Tiers.Select(t => (t.Tier, t.VolumeLitres, t.AmountFen)));
    }

    [Fact]
    public async Task A_corrected_unbilled_reading_is_billed_at_its_new_value()
    {
        var user = User(31);
        await OpenAsync(user);
        var reading = await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 100_000);
        await Bus.Publish(new ReadingCorrected(reading.ReadingId, user, D("2026-01-01"), D("2026-03-31"), 100_000, 90_000, 0, 90_000,
            "typo", DateTimeOffset.UtcNow));
        await Eventually.Get(() => WithDbAsync(db => db.Consumptions.SingleAsync(c => c.ReadingId == reading.ReadingId)),
            c => c.ConsumptionLitres == 90_000, what: "the correction");

        var run = await RunAsync("2026-03-31");

        Assert.Equal(Tariff.Liaocheng.RoundedCharge(90_000), run.TotalFen);
    }

    [Fact]
    public async Task A_batch_of_readings_is_recorded_once_each()
    {
        var users = Enumerable.Range(40, 3).Select(User).ToList();
        foreach (var user in users)
            await OpenAsync(user);
        var readings = users.Select(u => Reading(u, "2026-01-01", 0, "2026-02-28", 20_000)).ToList();

        await Bus.Publish(new ReadingBatchAccepted(readings, DateTimeOffset.UtcNow));
        await Bus.Publish(new ReadingBatchAccepted(readings.Take(2).ToList(), DateTimeOffset.UtcNow));
        await Eventually.Get(() => WithDbAsync(db => db.Consumptions.CountAsync()), n => n == 3, what: "the batch");
        var run = await RunAsync("2026-02-28");

        Assert.Equal((3, 3 * 6_640L), (run.AccountsBilled, run.TotalFen));
        Assert.Equal(3, await WithDbAsync(db => db.Consumptions.CountAsync()));
    }

    [Fact]
    public async Task A_household_growing_under_a_large_household_rule_pays_less_from_the_change()
    {
        await WithDbAsync(async db =>
        {
            // Arranged directly: operators may only add future versions, this one started in 2025.
            db.TariffVersions.Add(new TariffVersionRow
            {
                Name = "large-households", EffectiveFrom = D("2025-01-01"), BaseHouseholdSize = 5, ExtraLitresPerPerson = 30_000,
                Tiers =
                [
                    new TariffTierRow { Tier = 1, UpToLitres = 144_000, PriceFenPerM3 = 332 },
                    new TariffTierRow { Tier = 2, UpToLitres = 240_000, PriceFenPerM3 = 425 },
                    new TariffTierRow { Tier = 3, UpToLitres = null, PriceFenPerM3 = 702 },
                ],
            });
            return await db.SaveChangesAsync();
        });
        var user = User(50);
        await OpenAsync(user, persons: 3, openedOn: "2025-01-01");
        await Bus.Publish(new HouseholdDetailsChanged(user, "王小明", "幸福小区", "13800000002", 7, D("2025-07-01"), DateTimeOffset.UtcNow));
        await Eventually.Get(() => WithDbAsync(db => db.HouseholdSizes.CountAsync(h => h.UserNumber == user)), n => n == 2, what: "the new size");
        await ReadAsync(user, "2025-01-01", 0, "2025-12-31", 250_000);

        var run = await RunAsync("2025-12-31");

        // Same as ChargeRuleTests: 3 persons until 30 June, 7 from 1 July (tiers end at 204 and 300 m³).
        Assert.Equal(87_278, run.TotalFen);
        var bill = Assert.Single((await Client.ListBillsAsync(new ListBillsRequest { UserNumber = user })).Bills);
        Assert.All(bill.Lines, l => Assert.Equal("large-households", l.Tariff));
    }

    [Fact]
    public async Task The_statement_and_bills_of_a_year_take_the_year_share_of_an_interval_across_new_year()
    {
        var user = User(60);
        await OpenAsync(user, openedOn: "2025-06-01");
        await ReadAsync(user, "2025-06-01", 0, "2025-12-01", 100_000);
        await RunAsync("2025-12-01");
        await ReadAsync(user, "2025-12-01", 100_000, "2026-01-31", 161_000);
        await RunAsync("2026-01-31");

        var y2025 = await Client.GetAnnualStatementAsync(new GetAnnualStatementRequest { UserNumber = user, Year = 2025 });
        var y2026 = await Client.GetAnnualStatementAsync(new GetAnnualStatementRequest { UserNumber = user, Year = 2026 });
        var bills2025 = await Client.ListBillsAsync(new ListBillsRequest { UserNumber = user, Year = 2025 });
        var bills2026 = await Client.ListBillsAsync(new ListBillsRequest { UserNumber = user, Year = 2026 });

        Assert.Equal((131_000L, Tariff.Liaocheng.RoundedCharge(131_000)), (y2025.VolumeLitres, y2025.TotalFen));
        Assert.Equal((30_000L, Tariff.Liaocheng.RoundedCharge(30_000)), (y2026.VolumeLitres, y2026.TotalFen));
        Assert.Equal(2, bills2025.Bills.Count);
        Assert.Single(bills2026.Bills);
        Assert.Empty((await Client.GetAnnualStatementAsync(new GetAnnualStatementRequest { UserNumber = user, Year = 2027 })).Bills);
    }

    [Fact]
    public async Task A_statement_for_a_year_before_the_account_existed_is_refused()
    {
        var user = User(70);
        await OpenAsync(user, openedOn: "2025-06-01");

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Client.GetAnnualStatementAsync(new GetAnnualStatementRequest { UserNumber = user, Year = 2024 }).ResponseAsync);
        var unknownBill = await Assert.ThrowsAsync<RpcException>(() =>
            Client.GetBillAsync(new GetBillRequest { BillId = Guid.NewGuid().ToString() }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("year", ErrorDetails.ViolatedField(error));
        Assert.Contains("2025-06-01", error.Status.Detail);
        Assert.Equal(StatusCode.NotFound, unknownBill.StatusCode);
    }

    [Fact]
    public async Task The_JSON_routes_of_runs_statements_and_tariffs_work()
    {
        var user = User(80);
        await OpenAsync(user);
        await ReadAsync(user, "2026-01-01", 0, "2026-06-30", 150_000);
        var http = _host.CreateClient();

        var started = await (await http.PostAsJsonAsync("/v1/billing-runs", new { cutOff = "2026-06-30", trial = true }))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(started.GetProperty("trial").GetBoolean());
        var runId = started.GetProperty("runId").GetString();
        var trial = await Eventually.Get(async () => await http.GetFromJsonAsync<JsonElement>($"/v1/billing-runs/{runId}"),
            r => r.GetProperty("status").GetString() == "COMPLETED", what: "the trial run");
        Assert.Equal(50_358, trial.GetProperty("totalFen").GetInt64());

        var tariffs = await http.GetFromJsonAsync<JsonElement>("/v1/tariffs");
        Assert.Equal("liaocheng-residential", tariffs.GetProperty("versions")[0].GetProperty("name").GetString());
        var inForce = await http.GetFromJsonAsync<JsonElement>("/v1/tariffs/in-force?on=2026-06-30");
        Assert.Equal("2000-01-01", inForce.GetProperty("effectiveFrom").GetString());
        var admin = _host.CreateClientWithKey(AdminKey);
        var created = await admin.PostAsJsonAsync("/v1/tariffs", new
        {
            version = new
            {
                name = "json-2033", effectiveFrom = "2033-01-01",
                tiers = new object[] { new { tier = 1, upToLitres = 150_000, priceFenPerM3 = 340 }, new { tier = 2, priceFenPerM3 = 800 } },
            },
        });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/v1/tariffs", new { version = new { name = "x", effectiveFrom = "2034-01-01" } })).StatusCode);

        var statement = await http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{user}/statements/2026");
        Assert.Equal(2026, statement.GetProperty("year").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"/v1/accounts/{user}/statements/2019")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/v1/accounts/{user}/bills?year=2026")).StatusCode);
    }

    [Fact]
    public async Task The_next_bill_shows_the_balance_Payments_last_reported_and_a_closed_account_is_still_billed_to_its_close()
    {
        var user = User(90);
        await OpenAsync(user);
        await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 10_000);
        var newer = DateTimeOffset.UtcNow;
        await Bus.Publish(new PaymentAllocated(user, Guid.NewGuid(), [], -1_500, newer));
        // An older allocation arriving late does not overwrite the newer balance.
        await Bus.Publish(new PaymentAllocated(user, Guid.NewGuid(), [], 9_999, newer.AddMinutes(-5)));
        await Bus.Publish(new AccountClosed(user, D("2026-03-31"), "moved out", DateTimeOffset.UtcNow));
        await Eventually.Get(() => WithDbAsync(db => db.Accounts.AsNoTracking().SingleAsync(a => a.UserNumber == user)),
            a => a.ClosedOn == D("2026-03-31") && a.BalanceFen == -1_500, what: "the balance and the close");
        await Eventually.Get(() => WithDbAsync(db => db.ProcessedMessages.CountAsync(m => m.Consumer == "PaymentAllocatedConsumer")),
            n => n == 2, what: "both allocations");

        await RunAsync("2026-03-31");

        var bill = Assert.Single((await Client.ListBillsAsync(new ListBillsRequest { UserNumber = user })).Bills);
        Assert.Equal((3_320L, -1_500L), (bill.AmountFen, bill.BalanceBroughtForwardFen));
    }
}
