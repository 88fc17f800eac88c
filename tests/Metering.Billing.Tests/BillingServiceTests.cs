using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using MassTransit;
using Metering.Billing.Data;
using Metering.Billing.Events;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Grpc;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using BillingClient = Metering.Contracts.Billing.V1.Billing.BillingClient;
using BillingRunStatus = Metering.Billing.Data.BillingRunStatus;
using BillLine = Metering.Contracts.Billing.V1.BillLine;
using Proto = Metering.Contracts.Billing.V1;

namespace Metering.Billing.Tests;

public sealed class BillingServiceTests : IDisposable
{
    private readonly ServiceFactory<BillingModule> _host;

    public BillingServiceTests() : this(null)
    {
    }

    private BillingServiceTests(IDictionary<string, string?>? settings) => _host = new ServiceFactory<BillingModule>(settings);

    public void Dispose() => _host.Dispose();

    private BillingClient Client => new(_host.Channel);

    private static string User(int serial) => UserNumber.FromBody(100_000_000 + serial).Value;

    private static DateOnly D(string text) => DateOnly.ParseExact(text, DateText.Pattern, CultureInfo.InvariantCulture);

    private async Task OpenAccountAsync(string userNumber, string openedOn = "2026-01-01")
    {
        var bus = _host.Services.GetRequiredService<IBus>();
        await bus.Publish(new AccountOpened(userNumber, "张三明", "东昌府区 幸福小区 3号楼 2单元 301", "13800000001", 3,
            $"M-{userNumber}", 0, D(openedOn), DateTimeOffset.UtcNow));
    }

    private static ReadingAccepted Reading(string userNumber, string previousOn, long previous, string readOn, long register) =>
        new(NewId.NextGuid(), userNumber, D(previousOn), previous, D(readOn), register, register - previous, "actual",
            DateTimeOffset.UtcNow);

    private async Task<ReadingAccepted> ReadAsync(string userNumber, string previousOn, long previous, string readOn, long register)
    {
        var reading = Reading(userNumber, previousOn, previous, readOn, register);
        await _host.Services.GetRequiredService<IBus>().Publish(reading);
        await WaitUntilReceivedAsync(userNumber, readOn);
        return reading;
    }

    private Task<UnbilledConsumption> WaitUntilReceivedAsync(string userNumber, string readOn) =>
        Eventually.Get(
            () => Client.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = userNumber }).ResponseAsync,
            u => u.LastReadOn == readOn, what: $"the reading of {readOn} to reach Billing");

    private async Task<Proto.BillingRun> RunAsync(string cutOff)
    {
        var started = await Client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = cutOff });
        Assert.Equal(Proto.BillingRunStatus.Pending, started.Status);
        return await WaitForEndAsync(started.RunId);
    }

    private Task<Proto.BillingRun> WaitForEndAsync(string runId) =>
        Eventually.Get(
            () => Client.GetBillingRunAsync(new GetBillingRunRequest { RunId = runId }).ResponseAsync,
            r => r.Status is Proto.BillingRunStatus.Completed or Proto.BillingRunStatus.Failed,
            what: $"billing run {runId} to end");

    private Task<ListBillsResponse> BillsAsync(string userNumber) =>
        Client.ListBillsAsync(new ListBillsRequest { UserNumber = userNumber }).ResponseAsync;

    private async Task<T> WithDbAsync<T>(Func<BillingDbContext, Task<T>> query)
    {
        using var scope = _host.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<BillingDbContext>());
    }

    private static BillLine Line(int year, int tier, long litres, long price, long fen) => new()
    {
        Year = year, Tier = tier, VolumeLitres = litres, PriceFenPerM3 = price, AmountFen = fen, Tariff = "liaocheng-residential",
    };

    [Fact]
    public async Task The_thin_flow_bills_each_reading_on_the_annual_tiers()
    {
        var user = User(1);
        await OpenAccountAsync(user);

        await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 100_000);
        var first = await RunAsync("2026-03-31");
        await ReadAsync(user, "2026-03-31", 100_000, "2026-06-30", 150_000);
        var second = await RunAsync("2026-06-30");
        await ReadAsync(user, "2026-06-30", 150_000, "2026-09-30", 260_000);
        var third = await RunAsync("2026-09-30");

        Assert.All([first, second, third], r =>
        {
            Assert.Equal(Proto.BillingRunStatus.Completed, r.Status);
            Assert.Equal(1, r.AccountsBilled);
            Assert.Equal(1, r.BillsIssued);
            Assert.NotEmpty(r.CompletedAt);
        });
        Assert.Equal([33_200L, 17_158, 52_290], new[] { first, second, third }.Select(r => r.TotalFen));

        var bills = (await BillsAsync(user)).Bills;
        Assert.Equal([33_200L, 17_158, 52_290], bills.Select(b => b.AmountFen));
        Assert.Equal([100_000L, 50_000, 110_000], bills.Select(b => b.VolumeLitres));
        Assert.Equal([100_000L, 150_000, 260_000], bills.Select(b => b.YearToDateLitres));
        Assert.Equal(["2026-01-01", "2026-03-31", "2026-06-30"], bills.Select(b => b.PeriodStart));
        Assert.Equal(["2026-03-31", "2026-06-30", "2026-09-30"], bills.Select(b => b.PeriodEnd));
        Assert.Equal(["2026-04-30", "2026-07-30", "2026-10-30"], bills.Select(b => b.DueDate));
        Assert.Equal([first.RunId, second.RunId, third.RunId], bills.Select(b => b.RunId));
        Assert.Equal(100_000, bills[1].PreviousRegisterLitres);
        Assert.Equal(150_000, bills[1].CurrentRegisterLitres);
        Assert.Equal([Line(2026, 1, 100_000, 332, 33_200)], bills[0].Lines);
        Assert.Equal([Line(2026, 1, 44_000, 332, 14_608), Line(2026, 2, 6_000, 425, 2_550)], bills[1].Lines);
        Assert.Equal([Line(2026, 2, 90_000, 425, 38_250), Line(2026, 3, 20_000, 702, 14_040)], bills[2].Lines);
        Assert.Equal(102_648, bills.Sum(b => b.AmountFen));

        var unbilled = await Client.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = user });
        Assert.Equal((0L, 0, "2026-09-30"), (unbilled.VolumeLitres, unbilled.Intervals, unbilled.LastReadOn));

        // One BillIssued per batch, committed with the bills and then published.
        var issued = await Eventually.Get(() => WithDbAsync(db => db.OutboxMessages.AsNoTracking()
                .Where(m => m.MessageType.StartsWith(typeof(BillIssued).FullName!)).ToListAsync()),
            rows => rows.Count == 3 && rows.All(r => r.SentAt != null), what: "three BillIssued to be published");
        var events = issued.Select(r => JsonSerializer.Deserialize<BillIssued>(r.Body)!).ToList();
        Assert.Equal(bills.Select(b => Guid.Parse(b.BillId)), events.Select(e => Assert.Single(e.Bills).BillId));
        Assert.Equal([33_200L, 17_158, 52_290], events.Select(e => e.Bills[0].AmountFen));
        Assert.Equal(D("2026-04-30"), events[0].Bills[0].DueDate);
    }

    [Fact]
    public async Task A_second_run_with_the_same_cut_off_bills_nothing()
    {
        var user = User(2);
        await OpenAccountAsync(user);
        await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 100_000);
        var first = await RunAsync("2026-03-31");

        var second = await RunAsync("2026-03-31");

        Assert.Equal((1, 33_200L), (first.AccountsBilled, first.TotalFen));
        Assert.Equal(Proto.BillingRunStatus.Completed, second.Status);
        Assert.Equal((0, 0, 0L), (second.AccountsBilled, second.BillsIssued, second.TotalFen));
        Assert.Single((await BillsAsync(user)).Bills);
    }

    [Fact]
    public async Task Consumption_read_after_the_cut_off_waits_for_a_later_run()
    {
        var user = User(3);
        await OpenAccountAsync(user);
        await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 100_000);
        await ReadAsync(user, "2026-03-31", 100_000, "2026-06-30", 150_000);

        var run = await RunAsync("2026-04-30");

        Assert.Equal(33_200, run.TotalFen);
        var unbilled = await Client.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = user });
        Assert.Equal((50_000L, 1), (unbilled.VolumeLitres, unbilled.Intervals));
    }

    [Fact]
    public async Task Several_unbilled_readings_make_one_bill_in_date_order()
    {
        var user = User(4);
        await OpenAccountAsync(user);
        await ReadAsync(user, "2026-01-01", 0, "2026-03-31", 100_000);
        await ReadAsync(user, "2026-03-31", 100_000, "2026-06-30", 150_000);

        var run = await RunAsync("2026-06-30");

        var bill = Assert.Single((await BillsAsync(user)).Bills);
        Assert.Equal((1, 50_358L), (run.BillsIssued, run.TotalFen));
        Assert.Equal(("2026-01-01", "2026-06-30", 0L, 150_000L), (bill.PeriodStart, bill.PeriodEnd,
            bill.PreviousRegisterLitres, bill.CurrentRegisterLitres));
        Assert.Equal([Line(2026, 1, 144_000, 332, 47_808), Line(2026, 2, 6_000, 425, 2_550)], bill.Lines);
    }

    [Fact]
    public async Task A_reading_delivered_twice_is_billed_once()
    {
        var user = User(5);
        await OpenAccountAsync(user);
        var reading = Reading(user, "2026-01-01", 0, "2026-03-31", 100_000);
        var bus = _host.Services.GetRequiredService<IBus>();
        var messageId = NewId.NextGuid();

        // The same message redelivered, and the same reading re-published under a new message id.
        await bus.Publish(reading, c => c.MessageId = messageId);
        await bus.Publish(reading, c => c.MessageId = messageId);
        await bus.Publish(reading);
        await WaitUntilReceivedAsync(user, "2026-03-31");
        await Eventually.Get(() => WithDbAsync(db => db.ProcessedMessages.CountAsync()), n => n >= 3,
            what: "the copies to be consumed");
        var run = await RunAsync("2026-03-31");

        Assert.Equal(1, await WithDbAsync(db => db.Consumptions.CountAsync()));
        Assert.Equal(33_200, run.TotalFen);
        Assert.Equal(100_000, Assert.Single((await BillsAsync(user)).Bills).VolumeLitres);
    }

    [Fact]
    public async Task An_account_opened_twice_is_projected_once()
    {
        var user = User(6);
        await OpenAccountAsync(user);
        await OpenAccountAsync(user);

        await Eventually.Get(() => WithDbAsync(db => db.ProcessedMessages.CountAsync()), n => n == 2, what: "both copies");

        Assert.Equal(1, await WithDbAsync(db => db.Accounts.CountAsync(a => a.UserNumber == user)));
    }

    [Fact]
    public async Task An_interval_across_new_year_is_split_between_the_years()
    {
        var user = User(7);
        await OpenAccountAsync(user, "2025-11-01");
        await ReadAsync(user, "2025-12-01", 500_000, "2026-01-31", 561_000);

        var run = await RunAsync("2026-01-31");

        var bill = Assert.Single((await BillsAsync(user)).Bills);
        Assert.Equal([Line(2025, 1, 31_000, 332, 10_292), Line(2025 + 1, 1, 30_000, 332, 9_960)], bill.Lines);
        Assert.Equal((61_000L, 20_252L, 30_000L), (bill.VolumeLitres, bill.AmountFen, bill.YearToDateLitres));
        Assert.Equal(20_252, run.TotalFen);
        var positions = await WithDbAsync(db => db.YearPositions.AsNoTracking().Where(p => p.UserNumber == user)
            .OrderBy(p => p.Year).Select(p => new { p.Year, p.BilledLitres }).ToListAsync());
        Assert.Equal([new { Year = 2025, BilledLitres = 31_000L }, new { Year = 2026, BilledLitres = 30_000L }], positions);
    }

    [Fact]
    public async Task A_corrected_estimate_is_credited()
    {
        var user = User(8);
        await OpenAccountAsync(user);
        await ReadAsync(user, "2026-01-01", 0, "2026-06-30", 150_000);
        await RunAsync("2026-06-30");
        // The estimate was high: the actual register is lower, so the consumption is negative.
        await ReadAsync(user, "2026-06-30", 150_000, "2026-07-31", 130_000);

        var run = await RunAsync("2026-07-31");

        var credit = (await BillsAsync(user)).Bills[1];
        Assert.Equal(-7_198, run.TotalFen);
        Assert.Equal((-20_000L, -7_198L, 130_000L), (credit.VolumeLitres, credit.AmountFen, credit.YearToDateLitres));
        Assert.Equal([Line(2026, 1, -14_000, 332, -4_648), Line(2026, 2, -6_000, 425, -2_550)], credit.Lines);
    }

    [Fact]
    public async Task Readings_of_an_account_not_yet_known_wait_for_it()
    {
        var known = User(9);
        var early = User(10);
        await OpenAccountAsync(known);
        await ReadAsync(known, "2026-01-01", 0, "2026-03-31", 100_000);
        await _host.Services.GetRequiredService<IBus>().Publish(Reading(early, "2026-01-01", 0, "2026-03-31", 10_000));
        await Eventually.Get(() => WithDbAsync(db => db.Consumptions.CountAsync(c => c.UserNumber == early)), n => n == 1,
            what: "the early reading to be recorded");

        var first = await RunAsync("2026-03-31");
        await OpenAccountAsync(early);
        await WaitUntilReceivedAsync(early, "2026-03-31");
        var second = await RunAsync("2026-03-31");

        Assert.Equal((1, 1), (first.AccountsBilled, second.AccountsBilled));
        Assert.Equal(3_320, Assert.Single((await BillsAsync(early)).Bills).AmountFen);
    }

    [Fact]
    public async Task Many_accounts_are_billed_in_batches()
    {
        using var host = new ServiceFactory<BillingModule>(new Dictionary<string, string?> { ["Billing:RunBatchSize"] = "3" });
        var client = new BillingClient(host.Channel);
        var bus = host.Services.GetRequiredService<IBus>();
        var users = Enumerable.Range(100, 8).Select(User).ToList();
        foreach (var user in users)
        {
            await bus.Publish(new AccountOpened(user, "李四", "幸福小区", "13900000000", 2, $"M-{user}", 0, D("2026-01-01"),
                DateTimeOffset.UtcNow));
            await bus.Publish(Reading(user, "2026-01-01", 0, "2026-03-31", 100_000));
        }
        foreach (var user in users)
            await Eventually.Get(() => client.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = user }).ResponseAsync,
                u => u.Intervals == 1, what: $"the reading of {user}");

        var started = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" });
        var run = await Eventually.Get(() => client.GetBillingRunAsync(new GetBillingRunRequest { RunId = started.RunId }).ResponseAsync,
            r => r.Status == Proto.BillingRunStatus.Completed, what: "the run to complete");

        Assert.Equal((8, 8, 8 * 33_200L), (run.AccountsBilled, run.BillsIssued, run.TotalFen));
        using var scope = host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
        var batches = await db.OutboxMessages.AsNoTracking()
            .Where(m => m.MessageType.StartsWith(typeof(BillIssued).FullName!)).Select(m => m.Body).ToListAsync();
        Assert.Equal([3, 3, 2], batches.Select(b => JsonSerializer.Deserialize<BillIssued>(b)!.Bills.Count));
    }

    [Theory]
    [InlineData("", "cut_off")]
    [InlineData("2026-13-01", "cut_off")]
    [InlineData("31/03/2026", "cut_off")]
    [InlineData("2999-01-01", "cut_off")]
    public async Task A_bad_cut_off_is_refused_and_nothing_is_written(string cutOff, string field)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = cutOff }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, ErrorDetails.ViolatedField(error));
        Assert.Equal(0, await WithDbAsync(db => db.Runs.CountAsync()));
        Assert.Equal(0, await WithDbAsync(db => db.OutboxMessages.CountAsync()));
    }

    [Theory]
    [InlineData("not-a-guid", StatusCode.InvalidArgument)]
    [InlineData("", StatusCode.InvalidArgument)]
    [InlineData("0b4e8f0e-1c1a-4d7e-9a51-3f4f2b8f9c11", StatusCode.NotFound)]
    public async Task A_bad_or_unknown_run_id_is_refused(string runId, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Client.GetBillingRunAsync(new GetBillingRunRequest { RunId = runId }).ResponseAsync);

        Assert.Equal(expected, error.StatusCode);
        if (expected == StatusCode.InvalidArgument)
            Assert.Equal("run_id", ErrorDetails.ViolatedField(error));
    }

    [Theory]
    [InlineData("12345", StatusCode.InvalidArgument)]
    [InlineData("1000000017", StatusCode.InvalidArgument)]
    [InlineData("9999999999", StatusCode.NotFound)]
    public async Task A_bad_or_unknown_user_number_is_refused_and_nothing_is_written(string userNumber, StatusCode expected)
    {
        var listing = await Assert.ThrowsAsync<RpcException>(() => BillsAsync(userNumber));
        var unbilled = await Assert.ThrowsAsync<RpcException>(() =>
            Client.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = userNumber }).ResponseAsync);

        Assert.Equal((expected, expected), (listing.StatusCode, unbilled.StatusCode));
        if (expected == StatusCode.InvalidArgument)
            Assert.Equal("user_number", ErrorDetails.ViolatedField(listing));
        Assert.Equal(0, await WithDbAsync(db => db.Accounts.CountAsync()));
    }

    [Fact]
    public async Task A_run_is_refused_while_another_is_pending()
    {
        // With the relay off, the first run's work item stays in the outbox: the run stays PENDING.
        using var host = new ServiceFactory<BillingModule>(new Dictionary<string, string?> { ["Outbox:RelayEnabled"] = "false" });
        var client = new BillingClient(host.Channel);
        var pending = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" });

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(pending.RunId, error.Status.Detail);
        using var scope = host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
        Assert.Equal(1, await db.Runs.CountAsync());
        var workItem = await db.OutboxMessages.SingleAsync();
        Assert.Equal("queue:billing-runs", workItem.Destination);
        Assert.Contains(pending.RunId, workItem.Body);
    }

    [Fact]
    public async Task An_interrupted_run_resumes_where_it_stopped_and_a_redelivery_after_completion_does_nothing()
    {
        using var host = new ServiceFactory<BillingModule>(new Dictionary<string, string?>
        {
            ["Outbox:RelayEnabled"] = "false",
            ["Billing:RunBatchSize"] = "1",
            ["Billing:RunChunkSize"] = "2",
        });
        var client = new BillingClient(host.Channel);
        var users = Enumerable.Range(200, 5).Select(User).ToList();
        using (var scope = host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
            foreach (var user in users)
            {
                db.Accounts.Add(new BillingAccount { UserNumber = user, Persons = 3, OpenedOn = D("2026-01-01") });
                db.Consumptions.Add(new Consumption
                {
                    ReadingId = Guid.NewGuid(), UserNumber = user, PreviousReadOn = D("2026-01-01"), PreviousRegisterLitres = 0,
                    ReadOn = D("2026-03-31"), RegisterLitres = 150_000, ConsumptionLitres = 150_000, Kind = "actual",
                });
            }
            await db.SaveChangesAsync();
        }
        var started = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" });
        var runId = Guid.Parse(started.RunId);

        // Planned (chunks of 2, 2 and 1 accounts); chunk 2 got one batch done before the process died.
        using (var scope = host.Services.CreateScope())
        {
            var processor = scope.ServiceProvider.GetRequiredService<BillingRunProcessor>();
            await processor.PlanAsync(runId, CancellationToken.None);
            await processor.BillAccountsAsync(runId, [users[2]], CancellationToken.None);
        }
        // Every message is redelivered twice, the planning one and each chunk's, the last ones after the run completed.
        for (var delivery = 0; delivery < 2; delivery++)
        {
            foreach (var chunk in new[] { 0, 1, 2, 3 })
            {
                using var scope = host.Services.CreateScope();
                var processor = scope.ServiceProvider.GetRequiredService<BillingRunProcessor>();
                if (chunk == 0)
                    await processor.PlanAsync(runId, CancellationToken.None);
                else
                    await processor.ProcessChunkAsync(runId, chunk, CancellationToken.None);
            }
        }

        var run = await client.GetBillingRunAsync(new GetBillingRunRequest { RunId = started.RunId });
        Assert.Equal(Proto.BillingRunStatus.Completed, run.Status);
        Assert.Equal((5, 5, 5 * 50_358L), (run.AccountsBilled, run.BillsIssued, run.TotalFen));
        Assert.Equal((5, 3, 3), (run.AccountsTotal, run.ChunksTotal, run.ChunksDone));
        using (var scope = host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
            Assert.Equal(5, await db.Bills.CountAsync());
            Assert.Equal(users, (await db.Bills.Select(b => b.UserNumber).ToListAsync()).Order());
            Assert.Equal(0, await db.Consumptions.CountAsync(c => c.BillId == null));
            Assert.Equal(5, await db.YearPositions.CountAsync(p => p.Year == 2026 && p.BilledLitres == 150_000));
            var issued = await db.OutboxMessages.Where(m => m.MessageType.StartsWith(typeof(BillIssued).FullName!))
                .Select(m => m.Body).ToListAsync();
            Assert.Equal(5, issued.Sum(b => JsonSerializer.Deserialize<BillIssued>(b)!.Bills.Count));
        }
    }

    [Fact]
    public async Task A_run_that_meets_unbillable_data_fails_with_the_reason_and_frees_the_next_run()
    {
        var user = User(11);
        await OpenAccountAsync(user);
        await Eventually.Get(() => WithDbAsync(db => db.Accounts.CountAsync()), n => n == 1, what: "the account");
        await WithDbAsync(async db =>
        {
            // Readings never sends this (an interval ending before it starts); a damaged row must not bill.
            db.Consumptions.Add(new Consumption
            {
                ReadingId = Guid.NewGuid(), UserNumber = user, PreviousReadOn = D("2026-03-31"), ReadOn = D("2026-03-01"),
                RegisterLitres = 1_000, ConsumptionLitres = 1_000, Kind = "actual",
            });
            return await db.SaveChangesAsync();
        });

        var run = await RunAsync("2026-03-31");

        Assert.Equal(Proto.BillingRunStatus.Failed, run.Status);
        Assert.Contains(user, run.FailureReason);
        Assert.Empty((await BillsAsync(user)).Bills);
        // The failed run no longer blocks the next one.
        var next = await Client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" });
        Assert.Equal(Proto.BillingRunStatus.Pending, next.Status);
    }

    [Fact]
    public async Task The_JSON_routes_give_the_documented_shapes()
    {
        var user = User(12);
        await OpenAccountAsync(user);
        await ReadAsync(user, "2026-01-01", 0, "2026-06-30", 150_000);
        var http = _host.CreateClient();

        var started = await http.PostAsJsonAsync("/v1/billing-runs", new { cutOff = "2026-06-30" });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var startBody = await started.Content.ReadFromJsonAsync<JsonElement>();
        var runId = startBody.GetProperty("runId").GetString();
        Assert.Equal("PENDING", startBody.GetProperty("status").GetString());

        var run = await Eventually.Get(async () => await http.GetFromJsonAsync<JsonElement>($"/v1/billing-runs/{runId}"),
            r => r.GetProperty("status").GetString() == "COMPLETED", what: "the run to complete");
        Assert.Equal(1, run.GetProperty("accountsBilled").GetInt32());
        Assert.Equal(50_358, run.GetProperty("totalFen").GetInt64());

        var listing = await http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{user}/bills");
        var bill = Assert.Single(listing.GetProperty("bills").EnumerateArray());
        Assert.True(Guid.TryParse(bill.GetProperty("billId").GetString(), out _));
        Assert.Equal("2026-01-01", bill.GetProperty("periodStart").GetString());
        Assert.Equal("2026-06-30", bill.GetProperty("periodEnd").GetString());
        Assert.Equal(150_000, bill.GetProperty("volumeLitres").GetInt64());
        Assert.Equal(50_358, bill.GetProperty("amountFen").GetInt64());
        var lines = bill.GetProperty("lines").EnumerateArray().Select(l => (
            l.GetProperty("tier").GetInt32(), l.GetProperty("volumeLitres").GetInt64(),
            l.GetProperty("priceFenPerM3").GetInt64(), l.GetProperty("amountFen").GetInt64())).ToList();
        Assert.Equal([(1, 144_000L, 332L, 47_808L), (2, 6_000L, 425L, 2_550L)], lines);

        var unbilled = await http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{user}/unbilled-consumption");
        Assert.Equal("2026-06-30", unbilled.GetProperty("lastReadOn").GetString());

        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/v1/billing-runs", new { cutOff = "2026-02-30" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/v1/billing-runs/not-a-guid")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/billing-runs/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/v1/accounts/1000000017/bills")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/v1/accounts/9999999999/bills")).StatusCode);
    }
}
