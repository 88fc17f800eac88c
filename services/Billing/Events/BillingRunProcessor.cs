using Metering.Billing.Data;
using Metering.Billing.Domain;
using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Metering.Billing.Events;

/// <summary>
/// Bills a run's accounts batch by batch. Each batch is one transaction: its bills and lines, the
/// claim of the consumption rows it covers, the accounts' new year positions, the run's counters and
/// one <c>BillIssued</c> for the batch. A run stopped at any point resumes by running again: billed
/// rows are no longer unbilled, so nothing is billed twice and the counters stay exact.
/// </summary>
public sealed class BillingRunProcessor(
    BillingDbContext db, IOptions<BillingOptions> options, TimeProvider clock, ILogger<BillingRunProcessor> logger)
{
    private readonly BillingOptions _options = options.Value;

    // One tariff for now; effective-dated versions will be looked up per interval part here.
    private static Tariff Tariff => Tariff.Liaocheng;

    public async Task ProcessAsync(Guid runId, CancellationToken cancellationToken)
    {
        var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
        {
            logger.LogWarning("Billing run {RunId} does not exist; its message is dropped", runId);
            return;
        }
        if (run.Status is BillingRunStatus.Completed or BillingRunStatus.Failed)
            return;
        if (run.Status == BillingRunStatus.Pending)
        {
            run.Status = BillingRunStatus.Running;
            run.StartedAt = clock.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
        }
        var cutOff = run.CutOff;
        db.ChangeTracker.Clear();

        try
        {
            // Keyset paging by user number: an account billed in this pass is never picked again.
            var after = "";
            while (true)
            {
                var accounts = await NextAccountsAsync(cutOff, after, cancellationToken);
                if (accounts.Count == 0)
                    break;
                await BillBatchAsync(runId, cutOff, accounts, cancellationToken);
                db.ChangeTracker.Clear();
                after = accounts[^1];
            }
        }
        catch (BillingRunDataException ex)
        {
            // Bad data does not get better by retrying: the run stops, what it billed stays billed.
            db.ChangeTracker.Clear();
            logger.LogError(ex, "Billing run {RunId} failed", runId);
            await FinishAsync(runId, BillingRunStatus.Failed, ex.Message, cancellationToken);
            return;
        }

        await FinishAsync(runId, BillingRunStatus.Completed, null, cancellationToken);
        logger.LogInformation("Billing run {RunId} (cut-off {CutOff}) completed", runId, cutOff);
    }

    /// <summary>Marks a run FAILED unless it already ended (a run that completed stays completed).</summary>
    public async Task FailAsync(Guid runId, string reason, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        await FinishAsync(runId, BillingRunStatus.Failed, reason, cancellationToken);
    }

    private async Task FinishAsync(Guid runId, BillingRunStatus status, string? reason, CancellationToken cancellationToken)
    {
        var run = await db.Runs.SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null || run.Status is BillingRunStatus.Completed or BillingRunStatus.Failed)
            return;
        run.Finish(status, clock.GetUtcNow().UtcDateTime, reason);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// The next accounts, in user-number order, with consumption read on or before the cut-off and not
    /// billed. An account Billing has not heard of yet (its AccountOpened is still on the way) waits
    /// for the next run.
    /// </summary>
    private Task<List<string>> NextAccountsAsync(DateOnly cutOff, string after, CancellationToken cancellationToken) =>
        db.Consumptions.AsNoTracking()
            .Where(c => c.BillId == null && c.ReadOn <= cutOff && string.Compare(c.UserNumber, after) > 0)
            .Where(c => db.Accounts.Any(a => a.UserNumber == c.UserNumber))
            .Select(c => c.UserNumber)
            .Distinct()
            .OrderBy(u => u)
            .Take(_options.RunBatchSize)
            .ToListAsync(cancellationToken);

    /// <summary>Bills the given accounts in one transaction (the unit a chunked run will hand to a replica).</summary>
    public async Task BillBatchAsync(Guid runId, DateOnly cutOff, IReadOnlyCollection<string> accounts,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var dueDate = cutOff.AddDays(_options.PaymentTermDays);

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var rows = await db.Consumptions.AsNoTracking()
            .Where(c => c.BillId == null && c.ReadOn <= cutOff && accounts.Contains(c.UserNumber))
            .OrderBy(c => c.UserNumber).ThenBy(c => c.ReadOn).ThenBy(c => c.PreviousReadOn).ThenBy(c => c.Id)
            .ToListAsync(cancellationToken);
        if (rows.Count == 0)
            return;
        var positions = await db.YearPositions
            .Where(p => accounts.Contains(p.UserNumber))
            .ToListAsync(cancellationToken);

        var issued = new List<IssuedBill>();
        foreach (var account in rows.GroupBy(r => r.UserNumber))
        {
            var intervals = account.ToList();
            var billedBefore = positions.Where(p => p.UserNumber == account.Key).ToDictionary(p => p.Year, p => p.BilledLitres);
            BillComputation computed;
            try
            {
                computed = BillCalculator.Bill(Tariff, intervals.Select(c => new ConsumptionInterval(
                    c.PreviousReadOn, c.PreviousRegisterLitres, c.ReadOn, c.RegisterLitres, c.ConsumptionLitres)), billedBefore);
            }
            catch (Exception ex) when (ex is ArgumentException or OverflowException)
            {
                throw new BillingRunDataException($"account {account.Key} cannot be billed: {ex.Message}", ex);
            }

            var first = intervals[0];
            var last = intervals[^1];
            var bill = new Bill
            {
                Id = MassTransit.NewId.NextGuid(),
                RunId = runId,
                UserNumber = account.Key,
                PeriodStart = first.PreviousReadOn,
                PeriodEnd = last.ReadOn,
                PreviousRegisterLitres = first.PreviousRegisterLitres,
                CurrentRegisterLitres = last.RegisterLitres,
                VolumeLitres = computed.VolumeLitres,
                YearToDateLitres = computed.BilledLitresAfter.GetValueOrDefault(last.ReadOn.Year),
                AmountFen = computed.AmountFen,
                DueDate = dueDate,
                TariffCode = Tariff.Code,
                IssuedAt = now.UtcDateTime,
                Lines = computed.Lines.Select((l, i) => new BillLine
                {
                    LineNumber = i + 1,
                    Year = l.Year,
                    Tier = l.Tier,
                    VolumeLitres = l.VolumeLitres,
                    PriceFenPerM3 = l.PriceFenPerM3,
                    AmountFen = l.AmountFen,
                }).ToList(),
            };
            db.Bills.Add(bill);

            foreach (var row in intervals)
            {
                // The update carries "AND BillId IS NULL": a row billed meanwhile by a racing copy fails the batch.
                db.Consumptions.Attach(row);
                row.BillId = bill.Id;
            }
            foreach (var (year, billed) in computed.BilledLitresAfter)
            {
                var position = positions.SingleOrDefault(p => p.UserNumber == account.Key && p.Year == year);
                if (position is null)
                    db.YearPositions.Add(new YearPosition { UserNumber = account.Key, Year = year, BilledLitres = billed });
                else
                    position.BilledLitres = billed;
            }
            issued.Add(new IssuedBill(bill.Id, bill.UserNumber, bill.PeriodStart, bill.PeriodEnd, bill.VolumeLitres,
                bill.AmountFen, bill.DueDate));
        }

        db.Publish(new BillIssued(runId, issued, now));
        var total = issued.Sum(b => b.AmountFen);
        await db.Runs.Where(r => r.Id == runId)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.AccountsBilled, r => r.AccountsBilled + issued.Count)
                .SetProperty(r => r.BillsIssued, r => r.BillsIssued + issued.Count)
                .SetProperty(r => r.TotalFen, r => r.TotalFen + total), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}

/// <summary>Stored data that no retry will make billable (an interval ending before it starts, an overflow).</summary>
public sealed class BillingRunDataException(string message, Exception inner) : Exception(message, inner);
