using System.ComponentModel;
using System.Diagnostics;
using Grpc.Core;
using Metering.Contracts.Billing.V1;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli.Commands;

internal static class BillingRuns
{
    /// <summary>Follows a run through WatchBillingRun until it completes or fails, as a progress bar.</summary>
    public static async Task<BillingRun> WatchAsync(Connection c, Output o, BillingRun run, CancellationToken ct)
    {
        if (run.Status is BillingRunStatus.Completed or BillingRunStatus.Failed)
            return run;
        var clock = Stopwatch.StartNew();
        return await Progress.RunAsync(o, Describe(run, clock), Math.Max(run.AccountsTotal, 1), async report =>
        {
            var last = run;
            using var call = c.Billing.WatchBillingRun(new GetBillingRunRequest { RunId = run.RunId }, c.Streaming(ct));
            await foreach (var update in call.ResponseStream.ReadAllAsync(ct))
            {
                last = update;
                // The total is known once the run has counted its accounts; the bar rescales then.
                report(update.AccountsTotal > 0 ? (double)update.AccountsBilled / update.AccountsTotal * Math.Max(run.AccountsTotal, 1) : 0, Describe(update, clock));
                if (update.Status is BillingRunStatus.Completed or BillingRunStatus.Failed)
                    break;
            }
            if (last.Status is not (BillingRunStatus.Completed or BillingRunStatus.Failed))
                last = await c.Billing.GetBillingRunAsync(new GetBillingRunRequest { RunId = run.RunId }, c.Unary(ct));
            return last;
        });
    }

    private static string Describe(BillingRun r, Stopwatch clock) =>
        $"{(r.Trial ? "trial " : "")}run {r.CutOff}: {r.AccountsBilled:N0}/{r.AccountsTotal:N0} accounts, " +
        $"{r.AccountsBilled / Math.Max(clock.Elapsed.TotalSeconds, 0.001):N0}/s, {Format.Money(r.TotalFen)}";

    public static void Render(IAnsiConsole console, BillingRun r) => console.Write(Output.Fields(
        ("run id", r.RunId), ("trial", r.Trial ? "yes (nothing issued)" : "no"), ("status", r.Status.ToString()), ("cut-off", r.CutOff),
        ("accounts", $"{r.AccountsBilled:N0} of {r.AccountsTotal:N0}"), ("bills issued", r.BillsIssued.ToString("N0")),
        ("volume", Format.Volume(r.VolumeLitres)), ("total", Format.Money(r.TotalFen)), ("chunks", $"{r.ChunksDone}/{r.ChunksTotal}"),
        ("started at", r.StartedAt), ("completed at", r.CompletedAt), ("failure", r.FailureReason)));

    public static async Task<int> StartAsync(Connection c, Output o, string cutOff, bool trial, bool wait, CancellationToken ct)
    {
        var run = await c.Billing.StartBillingRunAsync(new StartBillingRunRequest { CutOff = Format.Day(cutOff, "--cut-off"), Trial = trial }, c.Unary(ct));
        if (wait)
            run = await WatchAsync(c, o, run, ct);
        o.Result(run, console => Render(console, run));
        if (run.Status == BillingRunStatus.Failed)
        {
            Meterctl.Error.WriteLine($"refused: the run failed: {run.FailureReason}");
            return ExitCodes.Refused;
        }
        return ExitCodes.Ok;
    }
}

public class RunSettings : MeterSettings
{
    [CommandOption("--cut-off <DATE>")] [Description("Bill consumption read on or before this day.")] public string? CutOff { get; set; }
    [CommandOption("--no-wait")] [Description("Start the run and return at once.")] public bool NoWait { get; set; }
}

public sealed class BillingTrial : MeterCommand<RunSettings>
{
    protected override Task<int> RunAsync(Connection c, Output o, RunSettings s, CancellationToken ct) =>
        BillingRuns.StartAsync(c, o, s.CutOff ?? "", trial: true, wait: !s.NoWait, ct);
}

public sealed class BillingRunCommand : MeterCommand<RunSettings>
{
    protected override Task<int> RunAsync(Connection c, Output o, RunSettings s, CancellationToken ct) =>
        BillingRuns.StartAsync(c, o, s.CutOff ?? "", trial: false, wait: !s.NoWait, ct);
}

public sealed class BillingStatus : MeterCommand<BillingStatus.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<RUN_ID>")] public string RunId { get; set; } = "";
        [CommandOption("--watch")] [Description("Follow the run until it ends.")] public bool Watch { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var run = await c.Billing.GetBillingRunAsync(new GetBillingRunRequest { RunId = s.RunId }, c.Unary(ct));
        if (s.Watch)
            run = await BillingRuns.WatchAsync(c, o, run, ct);
        return o.Result(run, console => BillingRuns.Render(console, run));
    }
}

internal static class BillView
{
    public static Table List(IEnumerable<Bill> bills)
    {
        var table = Output.Table("bill id", "period", "register", "volume", "year to date", "amount", "due", "status");
        foreach (var b in bills)
            table.AddRow(Format.Esc(b.BillId), $"{b.PeriodStart} – {b.PeriodEnd}", $"{Format.Volume(b.PreviousRegisterLitres)} → {Format.Volume(b.CurrentRegisterLitres)}",
                Format.Volume(b.VolumeLitres), Format.Volume(b.YearToDateLitres), Format.Money(b.AmountFen), b.DueDate, Format.Esc(b.Status));
        return table;
    }

    public static Table Lines(Bill b)
    {
        var table = Output.Table("year", "tier", "volume", "price", "amount", "tariff");
        foreach (var l in b.Lines)
            table.AddRow(l.Year.ToString(), l.Tier.ToString(), Format.Volume(l.VolumeLitres), Format.Money(l.PriceFenPerM3) + "/m³", Format.Money(l.AmountFen), Format.Esc(l.Tariff));
        return table;
    }
}

public sealed class BillingBills : MeterCommand<BillingBills.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--year <YEAR>")] public int Year { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var bills = await c.Billing.ListBillsAsync(new ListBillsRequest { UserNumber = s.UserNumber, Year = s.Year }, c.Unary(ct));
        return o.Result(bills, console =>
        {
            console.Write(BillView.List(bills.Bills));
            console.MarkupLine($"{bills.Bills.Count} bill(s), {Format.Money(bills.Bills.Where(b => b.Status != "CANCELLED").Sum(b => b.AmountFen))}");
        });
    }
}

public sealed class BillingBill : MeterCommand<BillingBill.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<BILL_ID>")] public string BillId { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var bill = await c.Billing.GetBillAsync(new GetBillRequest { BillId = s.BillId }, c.Unary(ct));
        return o.Result(bill, console =>
        {
            console.Write(BillView.List([bill]));
            console.Write(BillView.Lines(bill));
        });
    }
}

public sealed class BillingStatement : MeterCommand<BillingStatement.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--year <YEAR>")] public int Year { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        if (s.Year <= 0)
            throw new UsageException("--year: the statement's year is required");
        var statement = await c.Billing.GetAnnualStatementAsync(new GetAnnualStatementRequest { UserNumber = s.UserNumber, Year = s.Year }, c.Unary(ct));
        return o.Result(statement, console => Statements.Render(console, statement));
    }
}

internal static class Statements
{
    public static void Render(IAnsiConsole console, AnnualStatement st)
    {
        console.MarkupLine($"[bold]Annual statement {st.Year}[/] of {Format.Esc(st.UserNumber)}: {Format.Volume(st.VolumeLitres)}, {Format.Money(st.TotalFen)}");
        var tiers = Output.Table("tier", "volume", "amount");
        foreach (var t in st.Tiers)
            tiers.AddRow(t.Tier.ToString(), Format.Volume(t.VolumeLitres), Format.Money(t.AmountFen));
        tiers.AddRow("total", Format.Volume(st.VolumeLitres), Format.Money(st.TotalFen));
        console.Write(tiers);
        var bills = Output.Table("period", "volume", "year to date", "amount", "due", "status");
        foreach (var b in st.Bills)
            bills.AddRow($"{b.PeriodStart} – {b.PeriodEnd}", Format.Volume(b.VolumeLitres), Format.Volume(b.YearToDateLitres), Format.Money(b.AmountFen), b.DueDate, Format.Esc(b.Status));
        console.Write(bills);
    }
}

public sealed class BillingUnbilled : MeterCommand<UserNumberSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, UserNumberSettings s, CancellationToken ct)
    {
        var u = await c.Billing.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = s.UserNumber }, c.Unary(ct));
        return o.Result(u, console => console.Write(Output.Fields(("user number", u.UserNumber), ("unbilled", Format.Volume(u.VolumeLitres)),
            ("intervals", u.Intervals.ToString()), ("last read on", u.LastReadOn))));
    }
}
