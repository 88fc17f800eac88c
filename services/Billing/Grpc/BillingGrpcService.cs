using System.Globalization;
using Grpc.Core;
using Metering.Billing.Data;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Bill = Metering.Billing.Data.Bill;
using BillingRun = Metering.Billing.Data.BillingRun;
using BillingRunStatus = Metering.Billing.Data.BillingRunStatus;
using Proto = Metering.Contracts.Billing.V1;

namespace Metering.Billing.Grpc;

public sealed class BillingGrpcService(BillingDbContext db, UtilityCalendar calendar, TimeProvider clock)
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

    public override async Task<Proto.BillingRun> GetBillingRun(GetBillingRunRequest request, ServerCallContext context)
    {
        if (!Guid.TryParse(request.RunId, out var runId))
            throw new InvalidArgumentException("run_id", $"'{request.RunId}' is not a run id (a GUID)");
        var run = await db.Runs.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, context.CancellationToken)
            ?? throw new NotFoundException("billing run", request.RunId);
        return ToProto(run);
    }

    public override async Task<ListBillsResponse> ListBills(ListBillsRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var userNumber = await KnownAccountAsync(request.UserNumber, ct);
        var bills = await db.Bills.AsNoTracking()
            .Include(b => b.Lines)
            .Where(b => b.UserNumber == userNumber)
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
            RunId = bill.RunId.ToString(),
        };
        proto.Lines.AddRange(bill.Lines.OrderBy(l => l.LineNumber).Select(l => new Proto.BillLine
        {
            Year = l.Year,
            Tier = l.Tier,
            VolumeLitres = l.VolumeLitres,
            PriceFenPerM3 = l.PriceFenPerM3,
            AmountFen = l.AmountFen,
        }));
        return proto;
    }

    private static string Instant(DateTime? utc) =>
        utc is { } at ? DateTime.SpecifyKind(at, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "";
}
