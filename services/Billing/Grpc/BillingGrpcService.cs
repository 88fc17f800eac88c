using System.Globalization;
using Grpc.Core;
using Metering.Billing.Data;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Bill = Metering.Billing.Data.Bill;
using BillingRun = Metering.Billing.Data.BillingRun;
using BillingRunStatus = Metering.Billing.Data.BillingRunStatus;
using BillStatus = Metering.Billing.Data.BillStatus;
using Proto = Metering.Contracts.Billing.V1;

namespace Metering.Billing.Grpc;

public sealed partial class BillingGrpcService(
    BillingDbContext db, UtilityCalendar calendar, TimeProvider clock, IOptions<BillingOptions> options)
    : Proto.Billing.BillingBase
{
    /// <summary>The queue on which a run's work item waits for a Billing replica.</summary>
    public const string RunsQueue = "billing-runs";

    public override async Task<Proto.BillingRun> StartBillingRun(StartBillingRunRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var now = clock.GetUtcNow().UtcDateTime;
        var cutOff = DateText.Parse(request.CutOff, "cut_off");
        if (cutOff > calendar.Today(clock.GetUtcNow()))
            throw new InvalidArgumentException("cut_off", $"{DateText.Format(cutOff)} is in the future");
        var lastCutOff = await db.Runs.AsNoTracking()
            .Where(r => r.Status == BillingRunStatus.Completed && !r.IsTrial)
            .OrderByDescending(r => r.CutOff)
            .Select(r => (DateOnly?)r.CutOff)
            .FirstOrDefaultAsync(ct);
        if (cutOff < lastCutOff)
            throw new InvalidArgumentException("cut_off",
                $"{DateText.Format(cutOff)} is before the cut-off of the last completed run ({DateText.Format(lastCutOff)})");

        var active = await db.Runs.AsNoTracking()
            .Where(r => r.ActiveSlot != null)
            .Select(r => new { r.Id, r.Status })
            .FirstOrDefaultAsync(ct);
        if (active is not null)
            throw ActiveRunRefusal(active.Id.ToString(), active.Status);

        var run = new BillingRun
        {
            Id = MassTransit.NewId.NextGuid(),
            CutOff = cutOff,
            Status = BillingRunStatus.Pending,
            IsTrial = request.Trial,
            ActiveSlot = 1,
            CreatedAt = now,
        };
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        db.Runs.Add(run);
        db.Send(new ProcessBillingRun(run.Id), RunsQueue);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another run was started between the check and the insert: the unique active slot refused this one.
            db.ChangeTracker.Clear();
            throw ActiveRunRefusal("started at the same time", BillingRunStatus.Pending);
        }
        await transaction.CommitAsync(ct);
        return ToProto(run);
    }

    public override async Task<Proto.BillingRun> GetBillingRun(GetBillingRunRequest request, ServerCallContext context) =>
        ToProto(await FindRunAsync(request.RunId, context.CancellationToken));

    public override async Task WatchBillingRun(GetBillingRunRequest request, IServerStreamWriter<Proto.BillingRun> responseStream,
        ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var run = await FindRunAsync(request.RunId, ct);
        Proto.BillingRun? sent = null;
        while (true)
        {
            var progress = ToProto(run);
            if (!progress.Equals(sent))
            {
                await responseStream.WriteAsync(progress, ct);
                sent = progress;
            }
            if (run.Status is BillingRunStatus.Completed or BillingRunStatus.Failed)
                return;
            await Task.Delay(options.Value.ProgressIntervalMilliseconds, ct);
            run = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == run.Id, ct);
        }
    }

    private async Task<BillingRun> FindRunAsync(string text, CancellationToken ct)
    {
        if (!Guid.TryParse(text, out var runId))
            throw new InvalidArgumentException("run_id", $"'{text}' is not a run id (a GUID)");
        return await db.Runs.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, ct)
            ?? throw new NotFoundException("billing run", text);
    }

    public override async Task<Proto.Bill> GetBill(GetBillRequest request, ServerCallContext context)
    {
        if (!Guid.TryParse(request.BillId, out var billId))
            throw new InvalidArgumentException("bill_id", $"'{request.BillId}' is not a bill id (a GUID)");
        var bill = await db.Bills.AsNoTracking().Include(b => b.Lines)
                .SingleOrDefaultAsync(b => b.Id == billId, context.CancellationToken)
            ?? throw new NotFoundException("bill", request.BillId);
        return ToProto(bill);
    }

    public override async Task<AnnualStatement> GetAnnualStatement(GetAnnualStatementRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var userNumber = UserNumber.Parse(request.UserNumber).Value;
        var account = await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.UserNumber == userNumber, ct)
            ?? throw new NotFoundException("account", userNumber);
        if (request.Year < account.OpenedOn.Year || request.Year > 9999)
            throw new InvalidArgumentException("year",
                $"{request.Year} is before the account existed (opened {DateText.Format(account.OpenedOn)})");

        var year = request.Year;
        var bills = await StandingBills(userNumber, year).ToListAsync(ct);
        var lines = bills.SelectMany(b => b.Lines).Where(l => l.Year == year).ToList();
        var statement = new AnnualStatement
        {
            UserNumber = userNumber,
            Year = year,
            VolumeLitres = lines.Sum(l => l.VolumeLitres),
            TotalFen = lines.Sum(l => l.AmountFen),
        };
        statement.Tiers.AddRange(lines.GroupBy(l => l.Tier).OrderBy(g => g.Key).Select(g => new StatementTier
        {
            Tier = g.Key,
            VolumeLitres = g.Sum(l => l.VolumeLitres),
            AmountFen = g.Sum(l => l.AmountFen),
        }));
        statement.Bills.AddRange(bills.Select(ToProto));
        return statement;
    }

    /// <summary>An account's bills not cancelled, with consumption in <paramref name="year"/>, oldest first.</summary>
    private IQueryable<Bill> StandingBills(string userNumber, int year) =>
        db.Bills.AsNoTracking()
            .Include(b => b.Lines)
            .Where(b => b.UserNumber == userNumber && b.Status == BillStatus.Issued && b.Lines.Any(l => l.Year == year))
            .OrderBy(b => b.PeriodEnd).ThenBy(b => b.IssuedAt);

    public override async Task<ListBillsResponse> ListBills(ListBillsRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var userNumber = await KnownAccountAsync(request.UserNumber, ct);
        var year = request.Year;
        if (year < 0)
            throw new InvalidArgumentException("year", $"{year} is not a year");
        var bills = await db.Bills.AsNoTracking()
            .Include(b => b.Lines)
            .Where(b => b.UserNumber == userNumber)
            .Where(b => year == 0 || b.Lines.Any(l => l.Year == year) || (!b.Lines.Any() && b.PeriodEnd.Year == year))
            .OrderBy(b => b.PeriodEnd).ThenBy(b => b.IssuedAt)
            .ToListAsync(ct);
        var response = new ListBillsResponse { UserNumber = userNumber };
        response.Bills.AddRange(bills.Select(ToProto));
        return response;
    }

    public override async Task<UnbilledConsumption> GetUnbilledConsumption(
        GetUnbilledConsumptionRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var userNumber = await KnownAccountAsync(request.UserNumber, ct);
        var unbilled = await db.Consumptions.AsNoTracking()
            .Where(c => c.UserNumber == userNumber && c.BillId == null)
            .GroupBy(_ => 1)
            .Select(g => new { Volume = g.Sum(c => c.ConsumptionLitres), Intervals = g.Count() })
            .SingleOrDefaultAsync(ct);
        var lastReadOn = await db.Consumptions.AsNoTracking()
            .Where(c => c.UserNumber == userNumber)
            .OrderByDescending(c => c.ReadOn)
            .Select(c => (DateOnly?)c.ReadOn)
            .FirstOrDefaultAsync(ct);
        return new UnbilledConsumption
        {
            UserNumber = userNumber,
            VolumeLitres = unbilled?.Volume ?? 0,
            Intervals = unbilled?.Intervals ?? 0,
            LastReadOn = DateText.Format(lastReadOn),
        };
    }

    /// <summary>A well-formed user number of an account Billing has heard of (from AccountOpened).</summary>
    private async Task<string> KnownAccountAsync(string text, CancellationToken ct)
    {
        var userNumber = UserNumber.Parse(text).Value;
        if (!await db.Accounts.AnyAsync(a => a.UserNumber == userNumber, ct))
            throw new NotFoundException("account", userNumber);
        return userNumber;
    }

    private static FailedPreconditionException ActiveRunRefusal(string runId, BillingRunStatus status) =>
        new($"billing run {runId} is {status.ToString().ToUpperInvariant()}; start another when it has ended");

    private static Proto.BillingRun ToProto(BillingRun run) => new()
    {
        RunId = run.Id.ToString(),
        Status = run.Status switch
        {
            BillingRunStatus.Pending => Proto.BillingRunStatus.Pending,
            BillingRunStatus.Running => Proto.BillingRunStatus.Running,
            BillingRunStatus.Completed => Proto.BillingRunStatus.Completed,
            BillingRunStatus.Failed => Proto.BillingRunStatus.Failed,
            _ => Proto.BillingRunStatus.Unspecified,
        },
        CutOff = DateText.Format(run.CutOff),
        AccountsBilled = run.AccountsBilled,
        BillsIssued = run.BillsIssued,
        TotalFen = run.TotalFen,
        StartedAt = Instant(run.StartedAt),
        CompletedAt = Instant(run.CompletedAt),
        FailureReason = run.FailureReason ?? "",
        Trial = run.IsTrial,
        AccountsTotal = run.AccountsTotal,
        ChunksTotal = run.ChunksTotal,
        ChunksDone = run.ChunksDone,
        VolumeLitres = run.VolumeLitres,
    };

    private static Proto.Bill ToProto(Bill bill)
    {
        var proto = new Proto.Bill
        {
            BillId = bill.Id.ToString(),
            UserNumber = bill.UserNumber,
            PeriodStart = DateText.Format(bill.PeriodStart),
            PeriodEnd = DateText.Format(bill.PeriodEnd),
            PreviousRegisterLitres = bill.PreviousRegisterLitres,
            CurrentRegisterLitres = bill.CurrentRegisterLitres,
            VolumeLitres = bill.VolumeLitres,
            YearToDateLitres = bill.YearToDateLitres,
            AmountFen = bill.AmountFen,
            DueDate = DateText.Format(bill.DueDate),
            RunId = bill.RunId?.ToString() ?? "",
            Status = bill.Status == BillStatus.Issued ? "ISSUED" : "CANCELLED",
            CancelledAt = Instant(bill.CancelledAt),
            CancelReason = bill.CancelReason ?? "",
            ReplacesBillId = bill.ReplacesBillId?.ToString() ?? "",
            ReplacedByBillId = bill.ReplacedByBillId?.ToString() ?? "",
        };
        if (bill.BalanceBroughtForwardFen is { } balance)
            proto.BalanceBroughtForwardFen = balance;
        proto.Lines.AddRange(bill.Lines.OrderBy(l => l.LineNumber).Select(l => new Proto.BillLine
        {
            Year = l.Year,
            Tier = l.Tier,
            VolumeLitres = l.VolumeLitres,
            PriceFenPerM3 = l.PriceFenPerM3,
            AmountFen = l.AmountFen,
            Tariff = l.TariffName,
        }));
        return proto;
    }

    private static string Instant(DateTime? utc) =>
        utc is { } at ? DateTime.SpecifyKind(at, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "";
}
