using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using MassTransit;
using Metering.Billing.Data;
using Metering.Billing.Events;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using BillingClient = Metering.Contracts.Billing.V1.Billing.BillingClient;
using Proto = Metering.Contracts.Billing.V1;

namespace Metering.Billing.Tests;

/// <summary>
/// A billing run on SQLite takes its fast path (raw reads and writes, one transaction per chunk); SQL Server takes the
/// EF Core path. Both, run here on real SQLite files over the same history, must leave the same bills, lines, claims,
/// year positions, run counters and BillIssued events.
/// </summary>
public sealed class RunPathEquivalenceTests
{
    private static string User(int serial) => UserNumber.FromBody(100_000_000 + serial).Value;

    private static DateOnly D(string text) => DateOnly.ParseExact(text, DateText.Pattern, CultureInfo.InvariantCulture);

    // The fast path writes rows one statement per row (1), in statements of two rows with batches of three accounts (full
    // statements and the rest of a batch), and at its default (every batch's rows in one partly filled statement).
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(32)]
    public async Task The_SQLite_fast_path_and_the_EF_Core_path_bill_the_same(int rowsPerStatement)
    {
        var fast = await BillHistoryAsync(fastPath: true, rowsPerStatement);
        var ef = await BillHistoryAsync(fastPath: false, rowsPerStatement);

        Assert.Equal(ef.Runs, fast.Runs);
        Assert.Equal(ef.Bills, fast.Bills);
        Assert.Equal(ef.Positions, fast.Positions);
        Assert.Equal(ef.Claims, fast.Claims);
        Assert.Equal(ef.Issued, fast.Issued);
        // The stored text itself (the fast path formats ids, dates and times as UTF-8 itself): EF Core's formats.
        Assert.Equal(ef.Stored, fast.Stored);
        Assert.All(fast.Stored, row => Assert.DoesNotContain("?", row));
        // The history reaches every case the writer has: several batches and chunks, new and moved year positions,
        // bills over the year boundary (two years' lines), a credit, an unchanged position.
        Assert.Equal(2, fast.Runs.Count);
        Assert.Equal(24, fast.Bills.Count);
        Assert.Contains(fast.Bills, b => b.Contains("2025/") && b.Contains("2026/"));
        Assert.Contains(fast.Bills, b => b.Contains("amount=-"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task On_either_path_a_run_that_meets_unbillable_data_fails_and_keeps_what_it_billed_before(bool fastPath)
    {
        using var host = new ServiceFactory<BillingModule>(new Dictionary<string, string?>
        {
            ["Billing:RunSqliteFastPath"] = fastPath ? "true" : "false",
            ["Billing:RunBatchSize"] = "1",
        });
        var client = new BillingClient(host.Channel);
        var (good, bad) = (User(400), User(401));
        using (var scope = host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
            foreach (var user in new[] { good, bad })
                db.Accounts.Add(new BillingAccount { UserNumber = user, Persons = 3, OpenedOn = D("2026-01-01") });
            db.Consumptions.Add(new Consumption
            {
                ReadingId = Guid.NewGuid(), UserNumber = good, PreviousReadOn = D("2026-01-01"), ReadOn = D("2026-03-31"),
                RegisterLitres = 100_000, ConsumptionLitres = 100_000, Kind = "actual",
            });
            // Readings never sends this (an interval ending before it starts): the second batch cannot bill.
            db.Consumptions.Add(new Consumption
            {
                ReadingId = Guid.NewGuid(), UserNumber = bad, PreviousReadOn = D("2026-03-31"), ReadOn = D("2026-03-01"),
                RegisterLitres = 1_000, ConsumptionLitres = 1_000, Kind = "actual",
            });
            await db.SaveChangesAsync();
        }

        var started = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" });
        var run = await Eventually.Get(
            () => client.GetBillingRunAsync(new GetBillingRunRequest { RunId = started.RunId }).ResponseAsync,
            r => r.Status is Proto.BillingRunStatus.Completed or Proto.BillingRunStatus.Failed, what: "the run to end");

        Assert.Equal(Proto.BillingRunStatus.Failed, run.Status);
        Assert.Contains(bad, run.FailureReason);
        Assert.Equal((1, 33_200L), (run.AccountsBilled, run.TotalFen));
        Assert.Equal(33_200, Assert.Single((await client.ListBillsAsync(new ListBillsRequest { UserNumber = good })).Bills).AmountFen);
        Assert.Empty((await client.ListBillsAsync(new ListBillsRequest { UserNumber = bad })).Bills);
    }

    [Fact]
    public async Task Statements_of_several_rows_insert_bills_before_their_lines_where_foreign_keys_are_checked()
    {
        // BillAccountsAsync bills on a connection with foreign-key checks on (a chunk's connection turns them off); with
        // four rows per statement the lines' statement fills before the bills' does, and must not run first.
        using var host = new ServiceFactory<BillingModule>(new Dictionary<string, string?>
        {
            ["Outbox:RelayEnabled"] = "false",
            ["Billing:RunSqliteRowsPerStatement"] = "4",
        });
        var client = new BillingClient(host.Channel);
        var users = Enumerable.Range(500, 9).Select(User).ToList();
        using (var scope = host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
            foreach (var user in users)
            {
                db.Accounts.Add(new BillingAccount { UserNumber = user, Persons = 3, OpenedOn = D("2026-01-01") });
                // 150 m³: two lines (tiers 1 and 2).
                db.Consumptions.Add(new Consumption
                {
                    ReadingId = Guid.NewGuid(), UserNumber = user, PreviousReadOn = D("2026-01-01"), ReadOn = D("2026-03-31"),
                    RegisterLitres = 150_000, ConsumptionLitres = 150_000, Kind = "actual",
                });
            }
            await db.SaveChangesAsync();
        }
        var started = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" });
        var runId = Guid.Parse(started.RunId);

        using (var scope = host.Services.CreateScope())
        {
            var processor = scope.ServiceProvider.GetRequiredService<BillingRunProcessor>();
            await processor.PlanAsync(runId, CancellationToken.None);
            await processor.BillAccountsAsync(runId, users, CancellationToken.None);
        }

        using (var scope = host.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
            Assert.Equal(9, await db.Bills.CountAsync());
            Assert.Equal(18, await db.BillLines.CountAsync());
            Assert.Equal(0, await db.Consumptions.CountAsync(c => c.BillId == null));
            Assert.Equal(9, await db.YearPositions.CountAsync(p => p.BilledLitres == 150_000));
        }
        foreach (var user in users)
            Assert.Equal(50_358, Assert.Single((await client.ListBillsAsync(new ListBillsRequest { UserNumber = user })).Bills).AmountFen);
    }

    private sealed record Outcome(List<string> Runs, List<string> Bills, List<string> Positions, List<string> Claims,
        List<string> Issued, List<string> Stored);

    private static async Task<Outcome> BillHistoryAsync(bool fastPath, int rowsPerStatement)
    {
        using var host = new ServiceFactory<BillingModule>(new Dictionary<string, string?>
        {
            ["Billing:RunSqliteFastPath"] = fastPath ? "true" : "false",
            ["Billing:RunSqliteRowsPerStatement"] = rowsPerStatement.ToString(CultureInfo.InvariantCulture),
            ["Billing:RunBatchSize"] = "3",
            ["Billing:RunChunkSize"] = "5",
        });
        var client = new BillingClient(host.Channel);
        var bus = host.Services.GetRequiredService<IBus>();
        var users = Enumerable.Range(300, 12).Select(User).ToList();
        for (var i = 0; i < users.Count; i++)
        {
            await bus.Publish(new AccountOpened(users[i], "王五", "幸福小区", "13700000000", 2 + i % 5, $"M-{users[i]}", 0,
                D("2025-01-01"), DateTimeOffset.UtcNow));
            // Over the year boundary, sizes from 30 to 300 m³: every tier, two years' lines.
            await bus.Publish(Reading(users[i], "2025-01-01", 0, "2025-10-31", 30_000L * (i + 1)));
            await bus.Publish(Reading(users[i], "2025-10-31", 30_000L * (i + 1), "2026-02-28", 30_000L * (i + 1) + 7_777 * i));
        }
        await WaitForIntervalsAsync(client, users, 2);
        var first = await RunAsync(client, "2026-02-28");

        // Then a second period: positions that move, one that stays (no consumption), and a credit (an estimate
        // read too high, corrected downwards by the next actual reading).
        for (var i = 0; i < users.Count; i++)
        {
            var register = 30_000L * (i + 1) + 7_777 * i;
            var litres = i switch { 0 => 0, 1 => -2_000, _ => 11_111L * i };
            await bus.Publish(Reading(users[i], "2026-02-28", register, "2026-05-31", register + litres));
        }
        await WaitForIntervalsAsync(client, users, 1);
        var second = await RunAsync(client, "2026-05-31");

        var bills = new List<string>();
        foreach (var user in users)
            foreach (var bill in (await client.ListBillsAsync(new ListBillsRequest { UserNumber = user })).Bills)
                bills.Add(Describe(bill, first.RunId, second.RunId));

        using var scope = host.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<BillingDbContext>();
        var positions = (await db.YearPositions.AsNoTracking().ToListAsync())
            .Select(p => $"{p.UserNumber} {p.Year} {p.BilledLitres}").Order(StringComparer.Ordinal).ToList();
        var billUsers = await db.Bills.AsNoTracking().ToDictionaryAsync(b => b.Id, b => (b.UserNumber, b.PeriodEnd));
        var claims = (await db.Consumptions.AsNoTracking().ToListAsync())
            .Select(c => $"{c.UserNumber} {c.ReadOn:yyyy-MM-dd} billed by {(c.BillId is { } id ? billUsers[id] : default)}")
            .Order(StringComparer.Ordinal).ToList();
        var issued = (await db.OutboxMessages.AsNoTracking()
                .Where(m => m.MessageType.StartsWith(typeof(BillIssued).FullName!)).OrderBy(m => m.Id).Select(m => m.Body).ToListAsync())
            .Select(body => JsonSerializer.Deserialize<BillIssued>(body)!)
            .Select(e => string.Join(", ", e.Bills.Select(b => $"{b.UserNumber} {b.PeriodStart:yyyy-MM-dd}–{b.PeriodEnd:yyyy-MM-dd} " +
                $"{b.VolumeLitres} L {b.AmountFen} fen due {b.DueDate:yyyy-MM-dd} {(billUsers[b.BillId].UserNumber == b.UserNumber ? "stored" : "?")}")))
            .ToList();
        var runs = new[] { first, second }
            .Select(r => $"{r.Status} {r.CutOff} accounts {r.AccountsBilled}/{r.AccountsTotal} bills {r.BillsIssued} " +
                         $"{r.TotalFen} fen {r.VolumeLitres} L chunks {r.ChunksDone}/{r.ChunksTotal}")
            .ToList();
        return new Outcome(runs, bills, positions, claims, issued, await StoredShapesAsync(db));
    }

    /// <summary>
    /// The stored text of what a run writes, values that differ between two runs of the history (ids, the time of
    /// issue) reduced to their shape, stored types named; "?" marks a value in neither EF Core format.
    /// </summary>
    private static async Task<List<string>> StoredShapesAsync(BillingDbContext db)
    {
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync();
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT 'bill ' || b.UserNumber || ' ' || b.Id || ' run ' || ifnull(b.RunId, 'none') || ' ' || b.Status || ' '
                    || b.PeriodStart || ' ' || b.PeriodEnd || ' ' || b.DueDate || ' ' || b.TariffCode || ' ' || b.IssuedAt || ' '
                    || typeof(b.BalanceBroughtForwardFen) || ' ' || typeof(b.AmountFen) || ' lines '
                    || ifnull((SELECT group_concat(l.BillId || '/' || l.LineNumber || ' ' || l.TariffName || ' ' || typeof(l.Year)
                        || typeof(l.AmountFen), '; ') FROM BillLines AS l WHERE l.BillId = b.Id), 'none')
                    || ' claims ' || ifnull((SELECT group_concat(c.BillId || ' ' || c.ReadOn, '; ') FROM Consumptions AS c
                        WHERE c.BillId = b.Id), 'none')
                FROM Bills AS b
                UNION ALL
                SELECT 'position ' || UserNumber || ' ' || Year || ' ' || typeof(Year) || ' ' || typeof(BilledLitres) FROM YearPositions
                """;
            var rows = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                rows.Add(Shape(reader.GetString(0)));
            return rows.Order(StringComparer.Ordinal).ToList();
        }
        finally
        {
            await connection.CloseAsync();
        }
    }

    private static string Shape(string stored)
    {
        var shape = Regex.Replace(stored, "[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", "ID");
        shape = Regex.Replace(shape, @"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,7})?", "TIME");
        // Anything GUID- or time-like left over is in another format (lower case, "T" separator, …).
        return Regex.Replace(shape, @"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}|\d{2}:\d{2}:\d{2}", "?");
    }

    private static string Describe(Proto.Bill bill, string firstRun, string secondRun) =>
        $"{bill.UserNumber} run {(bill.RunId == firstRun ? 1 : bill.RunId == secondRun ? 2 : 0)} {bill.Status} " +
        $"{bill.PeriodStart}–{bill.PeriodEnd} registers {bill.PreviousRegisterLitres}–{bill.CurrentRegisterLitres} " +
        $"volume={bill.VolumeLitres} ytd={bill.YearToDateLitres} amount={bill.AmountFen} due {bill.DueDate} " +
        $"lines: {string.Join("; ", bill.Lines.Select(l => $"{l.Year}/{l.Tier} {l.VolumeLitres} L at {l.PriceFenPerM3} = {l.AmountFen} ({l.Tariff})"))}";

    private static ReadingAccepted Reading(string userNumber, string previousOn, long previous, string readOn, long register) =>
        new(NewId.NextGuid(), userNumber, D(previousOn), previous, D(readOn), register, register - previous,
            "actual", DateTimeOffset.UtcNow);

    private static async Task WaitForIntervalsAsync(BillingClient client, List<string> users, int intervals)
    {
        foreach (var user in users)
            await Eventually.Get(
                () => client.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = user }).ResponseAsync,
                u => u.Intervals == intervals, what: $"{intervals} unbilled intervals of {user}");
    }

    private static async Task<Proto.BillingRun> RunAsync(BillingClient client, string cutOff)
    {
        var started = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = cutOff });
        var run = await Eventually.Get(
            () => client.GetBillingRunAsync(new GetBillingRunRequest { RunId = started.RunId }).ResponseAsync,
            r => r.Status is Proto.BillingRunStatus.Completed or Proto.BillingRunStatus.Failed, what: $"the run of {cutOff}");
        Assert.Equal(Proto.BillingRunStatus.Completed, run.Status);
        return run;
    }
}
