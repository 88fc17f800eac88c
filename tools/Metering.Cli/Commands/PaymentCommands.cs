using System.ComponentModel;
using Google.Protobuf.WellKnownTypes;
using Metering.Contracts.Payments.V1;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli.Commands;

internal static class PaymentView
{
    public static void Balance(IAnsiConsole console, Balance b)
    {
        console.Write(Output.Fields(("user number", b.UserNumber), ("holder", b.HolderName), ("address", b.Address),
            ("outstanding", Format.Money(b.OutstandingFen)), ("credit", Format.Money(b.CreditFen))));
        if (b.UnpaidBills.Count == 0)
            return;
        var table = Output.Table("bill id", "period", "volume", "amount", "paid", "outstanding", "due");
        foreach (var u in b.UnpaidBills)
            table.AddRow(Format.Esc(u.BillId), $"{u.PeriodStart} – {u.PeriodEnd}", Format.Volume(u.VolumeLitres), Format.Money(u.AmountFen),
                Format.Money(u.PaidFen), Format.Money(u.OutstandingFen), u.DueDate);
        console.Write(table);
    }

    public static Table Allocations(IEnumerable<Allocation> allocations)
    {
        var table = Output.Table("bill id", "amount");
        foreach (var a in allocations)
            table.AddRow(Format.Esc(a.BillId), Format.Money(a.AmountFen));
        return table;
    }

    public static string Instant(Timestamp? t) => t is null ? "" : t.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss'Z'");
}

public sealed class PaymentBalance : MeterCommand<UserNumberSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, UserNumberSettings s, CancellationToken ct)
    {
        var b = await c.Payments.GetBalanceAsync(new GetBalanceRequest { UserNumber = s.UserNumber }, c.Unary(ct));
        return o.Result(b, console => PaymentView.Balance(console, b));
    }
}

public sealed class PaymentLedger : MeterCommand<UserNumberSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, UserNumberSettings s, CancellationToken ct)
    {
        var l = await c.Payments.GetAccountLedgerAsync(new GetAccountLedgerRequest { UserNumber = s.UserNumber }, c.Unary(ct));
        return o.Result(l, console =>
        {
            console.Write(Output.Fields(("user number", l.UserNumber), ("holder", l.HolderName), ("address", l.Address),
                ("outstanding", Format.Money(l.OutstandingFen)), ("credit", Format.Money(l.CreditFen)),
                ("mandate", l.Mandate is null ? "none" : $"{l.Mandate.BankCode} {l.Mandate.BankAccountMasked} {(l.Mandate.Active ? "active" : "revoked")}")));
            var bills = Output.Table("bill id", "period", "volume", "amount", "paid", "due", "cancelled");
            foreach (var b in l.Bills)
                bills.AddRow(Format.Esc(b.BillId), $"{b.PeriodStart} – {b.PeriodEnd}", Format.Volume(b.VolumeLitres), Format.Money(b.AmountFen), Format.Money(b.PaidFen), b.DueDate, b.Cancelled ? "yes" : "");
            console.Write(bills);
            var payments = Output.Table("payment id", "channel", "transaction", "amount", "paid at", "reversed at");
            foreach (var p in l.Payments)
                payments.AddRow(Format.Esc(p.PaymentId), Format.Esc(p.Channel), Format.Esc(p.ChannelTransactionId), Format.Money(p.AmountFen), PaymentView.Instant(p.PaidAt), PaymentView.Instant(p.ReversedAt));
            console.Write(payments);
        });
    }
}

public sealed class PaymentPost : MeterCommand<PaymentPost.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--amount <CNY>")] [Description("Amount in CNY, e.g. 500 or 1,026.48.")] public string Amount { get; set; } = "";
        [CommandOption("--channel <NAME>")] [Description("counter (default), wechat, alipay, … — the API key must be allowed to post for it.")] public string Channel { get; set; } = "counter";
        [CommandOption("--transaction <ID>")] [Description("The channel's transaction id (default: a new counter receipt number).")] public string? Transaction { get; set; }
        [CommandOption("--paid-at <INSTANT>")] [Description("RFC 3339 instant (default now).")] public string? PaidAt { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var paidAt = DateTimeOffset.UtcNow;
        if (s.PaidAt is not null && !DateTimeOffset.TryParse(s.PaidAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out paidAt))
            throw new UsageException($"--paid-at: '{s.PaidAt}' is not an instant like 2026-10-05T10:00:00+08:00");
        var r = await c.Payments.PostPaymentAsync(new PostPaymentRequest
        {
            UserNumber = s.UserNumber, Channel = s.Channel, AmountFen = Format.ParseMoney(s.Amount, "--amount"),
            ChannelTransactionId = s.Transaction ?? $"ctr-{DateTime.UtcNow:yyyyMMddHHmmssfff}", PaidAt = Timestamp.FromDateTimeOffset(paidAt),
        }, c.Unary(ct));
        return o.Result(r, console =>
        {
            console.Write(Output.Fields(("payment id", r.PaymentId), ("replayed", r.Replayed ? "yes (already posted; nothing posted twice)" : "no"),
                ("outstanding", Format.Money(r.OutstandingFen)), ("credit", Format.Money(r.CreditFen))));
            console.Write(PaymentView.Allocations(r.Allocations));
        });
    }
}

public sealed class PaymentReverse : MeterCommand<PaymentReverse.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<TRANSACTION_ID>")] public string Transaction { get; set; } = "";
        [CommandOption("--channel <NAME>")] public string Channel { get; set; } = "counter";
        [CommandOption("--reason <TEXT>")] public string Reason { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var r = await c.Payments.ReversePaymentAsync(new ReversePaymentRequest { Channel = s.Channel, ChannelTransactionId = s.Transaction, Reason = s.Reason }, c.Unary(ct));
        return o.Result(r, console =>
        {
            console.Write(Output.Fields(("payment id", r.PaymentId), ("reversed at", PaymentView.Instant(r.ReversedAt)), ("credit taken", Format.Money(r.CreditTakenFen)),
                ("outstanding", Format.Money(r.OutstandingFen)), ("credit", Format.Money(r.CreditFen)), ("replayed", r.Replayed ? "yes" : "no")));
            console.Write(PaymentView.Allocations(r.UndoneAllocations));
        });
    }
}

public sealed class PaymentReconcile : MeterCommand<PaymentReconcile.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<FILE>")] [Description("The channel's statement CSV.")] public string File { get; set; } = "";
        [CommandOption("--channel <NAME>")] public string Channel { get; set; } = "";
        [CommandOption("--date <DATE>")] [Description("The statement's date.")] public string? Date { get; set; }
        [CommandOption("--post-missing")] [Description("Post the payments the statement has and we do not.")] public bool PostMissing { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        if (!File.Exists(s.File))
            throw new UsageException($"<FILE>: '{s.File}' not found");
        var r = await c.Payments.ReconcileStatementAsync(new ReconcileStatementRequest
        {
            Channel = s.Channel, StatementDate = Format.Day(s.Date, "--date"), Csv = await File.ReadAllTextAsync(s.File, ct), PostMissing = s.PostMissing,
        }, c.Unary(ct));
        return o.Result(r, console =>
        {
            console.MarkupLine($"{Format.Esc(r.Channel)} {r.StatementDate}: [green]{r.Matched} matched ({Format.Money(r.MatchedAmountFen)})[/], " +
                               $"{r.MissingOnOurSide.Count} missing on our side, {r.MissingOnChannelSide.Count} missing on the channel's side, {r.Mismatches.Count} mismatches");
            var table = Output.Table("kind", "transaction", "user number", "amount", "note");
            foreach (var m in r.MissingOnOurSide)
                table.AddRow("missing here", Format.Esc(m.Line.TransactionId), Format.Esc(m.Line.UserNumber), Format.Money(m.Line.AmountFen),
                    Format.Esc(m.PostedPaymentId.Length > 0 ? $"posted {m.PostedPaymentId}" : m.NotPostedReason));
            foreach (var m in r.MissingOnChannelSide)
                table.AddRow("missing at channel", Format.Esc(m.ChannelTransactionId), Format.Esc(m.UserNumber), Format.Money(m.AmountFen), Format.Esc(m.PaymentId));
            foreach (var m in r.Mismatches)
                table.AddRow("mismatch", Format.Esc(m.Line.TransactionId), Format.Esc(m.Line.UserNumber), Format.Money(m.Line.AmountFen),
                    Format.Esc($"{m.Kind}: ours {m.OurUserNumber} {Format.Money(m.OurAmountFen)}"));
            if (table.Rows.Count > 0)
                console.Write(table);
        });
    }
}

public sealed class MandateSet : MeterCommand<MandateSet.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--bank <CODE>")] public string Bank { get; set; } = "";
        [CommandOption("--holder <NAME>")] public string Holder { get; set; } = "";
        [CommandOption("--account <NUMBER>")] public string Account { get; set; } = "";
        [CommandOption("--reference <REF>")] public string Reference { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var m = await c.Payments.PutWithholdingMandateAsync(new PutWithholdingMandateRequest
        {
            UserNumber = s.UserNumber, BankCode = s.Bank, AccountHolder = s.Holder, BankAccount = s.Account, MandateReference = s.Reference,
        }, c.Unary(ct));
        return o.Result(m, console => Render(console, m));
    }

    internal static void Render(IAnsiConsole console, WithholdingMandate m) => console.Write(Output.Fields(("user number", m.UserNumber),
        ("bank", m.BankCode), ("holder", m.AccountHolder), ("account", m.BankAccountMasked), ("reference", m.MandateReference), ("active", m.Active ? "yes" : "no")));
}

public sealed class MandateRevoke : MeterCommand<UserNumberSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, UserNumberSettings s, CancellationToken ct)
    {
        var m = await c.Payments.RevokeWithholdingMandateAsync(new RevokeWithholdingMandateRequest { UserNumber = s.UserNumber }, c.Unary(ct));
        return o.Result(m, console => MandateSet.Render(console, m));
    }
}

public sealed class WithholdingExport : MeterCommand<WithholdingExport.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandOption("--bank <CODE>")] public string Bank { get; set; } = "";
        [CommandOption("--out <FILE>")] [Description("Where to write the batch CSV (default withholding-<batch>.csv).")] public string? Out { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var batch = await c.Payments.ExportWithholdingBatchAsync(new ExportWithholdingBatchRequest { BankCode = s.Bank }, c.Unary(ct));
        var file = s.Out ?? $"withholding-{batch.BatchId}.csv";
        await File.WriteAllTextAsync(file, batch.Csv, ct);
        return o.Result(batch, console =>
            console.MarkupLine($"batch {Format.Esc(batch.BatchId)}: {batch.Lines} line(s), {Format.Money(batch.TotalFen)}; written to [green]{Format.Esc(file)}[/]"));
    }
}

public sealed class WithholdingImport : MeterCommand<WithholdingImport.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<BATCH_ID>")] public string BatchId { get; set; } = "";
        [CommandArgument(1, "<FILE>")] [Description("The bank's result CSV.")] public string File { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        if (!File.Exists(s.File))
            throw new UsageException($"<FILE>: '{s.File}' not found");
        var r = await c.Payments.ImportWithholdingResultAsync(new ImportWithholdingResultRequest { BatchId = s.BatchId, Csv = await File.ReadAllTextAsync(s.File, ct) }, c.Unary(ct));
        return o.Result(r, console =>
        {
            var table = Output.Table("line", "user number", "amount", "outcome", "payment", "reason");
            foreach (var l in r.Lines)
                table.AddRow(l.Line.ToString(), Format.Esc(l.UserNumber), Format.Money(l.AmountFen), Format.Esc(l.Outcome), Format.Esc(l.PaymentId), Format.Esc(l.Reason));
            console.Write(table);
            console.MarkupLine($"{r.Paid} paid ({Format.Money(r.PaidFen)}), {r.Failed} failed, {r.Refused} refused");
        });
    }
}
