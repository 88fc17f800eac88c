using Metering.Billing.Data;
using Metering.Billing.Domain;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Metering.Billing.Events;

/// <summary>
/// A reading's consumption changed. Unbilled, the row simply takes the new value. Billed, the bill is
/// cancelled (<c>BillCancelled</c>) and a corrected bill issued (<c>BillIssued</c>) in the same transaction:
/// it keeps the cancelled bill's lines and charges the change at the year's current position, so the year's
/// bills still add up to R(C(annual volume)) and later bills keep their tier position.
/// </summary>
public sealed class ReadingCorrectedConsumer(
    BillingDbContext db, IOptions<BillingOptions> options, UtilityCalendar calendar, TimeProvider clock)
    : IdempotentConsumer<BillingDbContext, ReadingCorrected>(db)
{
    /// <summary>Stands for the run id in a BillIssued of a correction's bill, which no run issued.</summary>
    public static readonly Guid CorrectionRunId = Guid.Empty;

    protected override async Task HandleAsync(ReadingCorrected message, CancellationToken cancellationToken)
    {
        // Retried until the reading's ReadingAccepted (or batch) has been recorded.
        var row = await Db.Consumptions.SingleOrDefaultAsync(c => c.ReadingId == message.ReadingId, cancellationToken)
            ?? throw new InvalidOperationException($"reading {message.ReadingId} is corrected before Billing received it");
        var change = message.NewConsumptionLitres - row.ConsumptionLitres;
        row.PreviousRegisterLitres = message.PreviousRegisterLitres;
        row.RegisterLitres = message.RegisterLitres;
        if (change == 0 || row.BillId is not { } billId)
        {
            row.ConsumptionLitres = message.NewConsumptionLitres;
            return;
        }

        var bill = await Db.Bills.Include(b => b.Lines).SingleAsync(b => b.Id == billId, cancellationToken);
        // Through the account's index: BillId itself is not indexed (a run writes it a million times).
        var billedRows = await Db.Consumptions.Where(c => c.UserNumber == row.UserNumber && c.BillId == billId).ToListAsync(cancellationToken);
        var positions = await Db.YearPositions.Where(p => p.UserNumber == row.UserNumber).ToListAsync(cancellationToken);
        var account = await Db.Accounts.AsNoTracking().SingleAsync(a => a.UserNumber == row.UserNumber, cancellationToken);
        var sizes = await Db.LoadHouseholdSizesAsync([row.UserNumber], cancellationToken);
        var basis = new ChargeBasis(await Db.LoadScheduleAsync(cancellationToken),
            sizes.GetValueOrDefault(row.UserNumber) ?? [new HouseholdSize(account.OpenedOn, account.Persons)]);

        var computed = BillCalculator.Rebill(basis,
            bill.Lines.OrderBy(l => l.LineNumber).Select(BillRecords.ToItem).ToList(), bill.VolumeLitres,
            new ConsumptionInterval(row.PreviousReadOn, row.PreviousRegisterLitres, row.ReadOn, row.RegisterLitres, row.ConsumptionLitres),
            message.NewConsumptionLitres, positions.ToDictionary(p => p.Year, p => p.BilledLitres));
        row.ConsumptionLitres = message.NewConsumptionLitres;

        var now = clock.GetUtcNow();
        var ordered = billedRows.OrderBy(c => c.ReadOn).ThenBy(c => c.PreviousReadOn).ThenBy(c => c.Id).ToList();
        var corrected = BillRecords.NewBill(row.UserNumber, ordered[0], ordered[^1], computed,
            calendar.Today(now).AddDays(options.Value.PaymentTermDays), now.UtcDateTime);
        corrected.ReplacesBillId = bill.Id;
        corrected.BalanceBroughtForwardFen = account.BalanceFen;
        Db.Bills.Add(corrected);

        bill.Status = BillStatus.Cancelled;
        bill.CancelledAt = now.UtcDateTime;
        bill.CancelReason = Truncate($"reading of {message.ReadOn:yyyy-MM-dd} corrected: {message.Reason}", 500);
        bill.ReplacedByBillId = corrected.Id;
        foreach (var billed in billedRows)
            billed.BillId = corrected.Id;
        BillRecords.MovePositions(Db, positions.ToDictionary(p => (p.UserNumber, p.Year)), row.UserNumber, computed.BilledLitresAfter);

        // Cancelled first: Payments turns a paid cancelled bill into credit, which the corrected bill then uses.
        Db.Publish(new BillCancelled(bill.Id, bill.UserNumber, bill.AmountFen, bill.CancelReason, corrected.Id, now));
        Db.Publish(new BillIssued(CorrectionRunId, [BillRecords.Issued(corrected)], now));
    }

    private static string Truncate(string text, int length) => text.Length > length ? text[..length] : text;
}
