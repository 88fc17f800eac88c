using Metering.Domain;
using Metering.Payments.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Metering.Payments.Data;

/// <summary>A statement line that was missing on our side, and what posting it did when that was asked.</summary>
public sealed record MissingLine(StatementEntry Entry, Guid? PostedPaymentId, string? NotPostedReason);

public sealed record ReconciliationResult(Reconciliation Comparison, IReadOnlyList<MissingLine> MissingOnOurSide);

/// <summary>
/// Compares a channel's daily statement with the ledger. It writes nothing itself; posting the
/// missing lines goes through <see cref="PaymentPoster"/> with the channel's own transaction ids,
/// so a statement imported again finds them matched and nothing is ever posted twice.
/// </summary>
public sealed class Reconciler(
    PaymentsDbContext db, PaymentPoster poster, UtilityCalendar calendar, TimeProvider clock, IOptions<PaymentsOptions> options)
{
    private const int LookupChunk = 500;

    public async Task<ReconciliationResult> ReconcileAsync(
        PaymentChannel channel, DateOnly statementDate, string? csv, bool postMissing, CancellationToken cancellationToken)
    {
        // Every row is checked before anything is read or posted: a bad file is refused whole.
        var statement = Statement.Parse(csv, calendar.Zone);

        var ours = new Dictionary<string, LedgerPaymentView>(StringComparer.Ordinal);
        foreach (var chunk in statement.Select(e => e.TransactionId).Chunk(LookupChunk))
            foreach (var payment in await Views(db.Payments.Where(p => p.Channel == channel.Name && chunk.Contains(p.ChannelTransactionId)))
                         .ToListAsync(cancellationToken))
                ours[payment.TransactionId] = payment;

        var (from, to) = DayInUtc(statementDate);
        var ofTheDay = await Views(db.Payments.Where(p => p.Channel == channel.Name && p.PaidAt >= from && p.PaidAt < to))
            .ToListAsync(cancellationToken);

        var comparison = Statement.Reconcile(statement, ours, ofTheDay);
        var missing = new List<MissingLine>(comparison.MissingOnOurSide.Count);
        foreach (var entry in comparison.MissingOnOurSide)
            missing.Add(postMissing ? await PostAsync(channel, entry, cancellationToken) : new MissingLine(entry, null, null));
        return new ReconciliationResult(comparison, missing);
    }

    private async Task<MissingLine> PostAsync(PaymentChannel channel, StatementEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            var instruction = PaymentInstruction.Validate(entry.UserNumber.Value, channel.Name, entry.TransactionId,
                entry.AmountFen, entry.PaidAt, clock.GetUtcNow(), options.Value.MaxAmountFen);
            var posted = await poster.PostAsync(instruction, cancellationToken);
            return new MissingLine(entry, posted.PaymentId, null);
        }
        catch (DomainException ex)
        {
            return new MissingLine(entry, null, ex.Message);
        }
    }

    private (DateTime From, DateTime To) DayInUtc(DateOnly date)
    {
        var start = date.ToDateTime(TimeOnly.MinValue);
        var end = date.AddDays(1).ToDateTime(TimeOnly.MinValue);
        return (TimeZoneInfo.ConvertTimeToUtc(start, calendar.Zone), TimeZoneInfo.ConvertTimeToUtc(end, calendar.Zone));
    }

    private static IQueryable<LedgerPaymentView> Views(IQueryable<Payment> payments) =>
        payments.AsNoTracking().Select(p => new LedgerPaymentView(
            p.Id, p.ChannelTransactionId, p.UserNumber, p.AmountFen,
            new DateTimeOffset(DateTime.SpecifyKind(p.PaidAt, DateTimeKind.Utc)), p.ReversedAt != null));
}
