using Metering.Domain;
using Metering.Payments.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Metering.Payments.Data;

public sealed record ExportedBatch(Guid BatchId, IReadOnlyList<WithholdingRequestLine> Lines, string Csv)
{
    public long TotalFen => Lines.Sum(l => l.AmountFen);
}

public sealed record WithholdingLineResult(int Line, string UserNumber, long AmountFen, string Outcome, Guid? PaymentId, string Reason);

/// <summary>
/// Bank withholding (代扣): mandates, the batch file for the bank, and the bank's result file,
/// whose paid lines are posted as payments keyed by (batch, line) so that a result imported
/// again pays nothing twice.
/// </summary>
public sealed class WithholdingDesk(
    PaymentsDbContext db, PaymentPoster poster, UtilityCalendar calendar, TimeProvider clock, IOptions<PaymentsOptions> options)
{
    public const string Paid = "paid";
    public const string Failed = "failed";
    public const string Refused = "refused";

    public async Task<WithholdingMandate> PutMandateAsync(
        UserNumber userNumber, string bankCode, string accountHolder, string bankAccountMasked, string reference,
        CancellationToken cancellationToken)
    {
        var account = await db.LedgerAccounts.SingleOrDefaultAsync(a => a.UserNumber == userNumber.Value, cancellationToken)
            ?? throw new NotFoundException("account", userNumber.Value);
        var mandate = await db.WithholdingMandates.SingleOrDefaultAsync(m => m.UserNumber == userNumber.Value, cancellationToken);
        if (mandate is null)
        {
            mandate = new WithholdingMandate
            {
                LedgerAccountId = account.Id, UserNumber = userNumber.Value, BankCode = bankCode,
                MandateReference = reference, AccountHolder = accountHolder, BankAccountMasked = bankAccountMasked,
            };
            db.WithholdingMandates.Add(mandate);
        }
        mandate.BankCode = bankCode;
        mandate.MandateReference = reference;
        mandate.AccountHolder = accountHolder;
        mandate.BankAccountMasked = bankAccountMasked;
        mandate.CreatedAt = clock.GetUtcNow().UtcDateTime;
        mandate.RevokedAt = null;
        await db.SaveChangesAsync(cancellationToken);
        return mandate;
    }

    public async Task<WithholdingMandate> RevokeMandateAsync(UserNumber userNumber, CancellationToken cancellationToken)
    {
        var mandate = await db.WithholdingMandates.SingleOrDefaultAsync(m => m.UserNumber == userNumber.Value, cancellationToken)
            ?? throw new NotFoundException("withholding mandate of account", userNumber.Value);
        mandate.RevokedAt ??= clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        return mandate;
    }

    /// <summary>
    /// Every active mandate whose account owes something, at what it owes now. An account still
    /// waiting for the bank's answer on an earlier batch is left out, so it is never withheld twice.
    /// </summary>
    public async Task<ExportedBatch> ExportAsync(string? bankCode, CancellationToken cancellationToken)
    {
        var mandates = db.WithholdingMandates.AsNoTracking().Where(m => m.RevokedAt == null);
        if (bankCode is not null)
            mandates = mandates.Where(m => m.BankCode == bankCode);
        var owing = await mandates
            .Where(m => !db.WithholdingBatchLines.Any(l => l.UserNumber == m.UserNumber && l.Outcome == null))
            .Select(m => new
            {
                m.UserNumber, m.BankCode, m.MandateReference, m.AccountHolder, m.BankAccountMasked,
                OwedFen = db.Receivables
                    .Where(r => r.LedgerAccountId == m.LedgerAccountId && r.CancelledAt == null && r.AmountFen > r.PaidFen)
                    .Sum(r => r.AmountFen - r.PaidFen),
            })
            .Where(m => m.OwedFen > 0)
            .OrderBy(m => m.UserNumber)
            .ToListAsync(cancellationToken);

        var lines = owing.Select((m, i) => new WithholdingRequestLine(i + 1, m.UserNumber, m.BankCode, m.MandateReference,
            m.AccountHolder, m.BankAccountMasked, m.OwedFen)).ToList();
        var batch = new WithholdingBatch { Id = Guid.NewGuid(), BankCode = bankCode, CreatedAt = clock.GetUtcNow().UtcDateTime };
        batch.Lines.AddRange(lines.Select(l => new WithholdingBatchLine
        {
            Line = l.Line, UserNumber = l.UserNumber, BankCode = l.BankCode, MandateReference = l.MandateReference,
            AccountHolder = l.AccountHolder, BankAccountMasked = l.BankAccountMasked, AmountFen = l.AmountFen,
        }));
        db.WithholdingBatches.Add(batch);
        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
        return new ExportedBatch(batch.Id, lines, Withholding.WriteBatch(lines));
    }

    public async Task<IReadOnlyList<WithholdingLineResult>> ImportResultAsync(
        Guid batchId, string? csv, CancellationToken cancellationToken)
    {
        if (!await db.WithholdingBatches.AnyAsync(b => b.Id == batchId, cancellationToken))
            throw new NotFoundException("withholding batch", batchId.ToString());
        // The whole file is checked before anything is posted.
        var results = Withholding.ParseResult(csv, calendar.Zone);
        var requested = await db.WithholdingBatchLines.AsNoTracking().Where(l => l.BatchId == batchId)
            .ToDictionaryAsync(l => l.Line, cancellationToken);

        var outcomes = new List<WithholdingLineResult>(results.Count);
        foreach (var result in results)
            outcomes.Add(await ApplyAsync(batchId, result, requested.GetValueOrDefault(result.Line), cancellationToken));

        // Recorded after the postings: the poster clears the change tracker when it retries.
        db.ChangeTracker.Clear();
        var lines = await db.WithholdingBatchLines.Where(l => l.BatchId == batchId).ToDictionaryAsync(l => l.Line, cancellationToken);
        foreach (var outcome in outcomes.Where(o => o.Outcome != Refused))
        {
            var line = lines[outcome.Line];
            // A line the bank paid stays paid: a later "failed" for it is refused above.
            line.Outcome = outcome.Outcome;
            line.PaymentId = outcome.PaymentId;
            line.Reason = outcome.Reason.Length == 0 ? null : outcome.Reason[..Math.Min(outcome.Reason.Length, 200)];
        }
        await db.SaveChangesAsync(cancellationToken);
        return outcomes;
    }

    private async Task<WithholdingLineResult> ApplyAsync(
        Guid batchId, WithholdingResultLine result, WithholdingBatchLine? requested, CancellationToken cancellationToken)
    {
        WithholdingLineResult Refuse(string reason) =>
            new(result.Line, result.UserNumber.Value, result.AmountFen, Refused, null, reason);

        if (requested is null)
            return Refuse($"the batch has no line {result.Line}");
        if (requested.UserNumber != result.UserNumber.Value)
            return Refuse($"line {result.Line} of the batch is user number {requested.UserNumber}");
        if (requested.AmountFen != result.AmountFen)
            return Refuse($"line {result.Line} of the batch asked for {requested.AmountFen} fen");

        if (result.Outcome == WithholdingOutcome.Failed)
        {
            if (requested.Outcome == Paid)
                return Refuse($"line {result.Line} was reported paid before");
            return new(result.Line, result.UserNumber.Value, result.AmountFen, Failed, null, result.Reason);
        }
        try
        {
            var instruction = PaymentInstruction.Validate(result.UserNumber.Value, PaymentChannel.BankWithholding.Name,
                Withholding.TransactionId(batchId, result.Line), result.AmountFen, result.PaidAt, clock.GetUtcNow(),
                options.Value.MaxAmountFen);
            var posted = await poster.PostAsync(instruction, cancellationToken);
            return new(result.Line, result.UserNumber.Value, result.AmountFen, Paid, posted.PaymentId, "");
        }
        catch (DomainException ex)
        {
            return Refuse(ex.Message);
        }
    }
}
