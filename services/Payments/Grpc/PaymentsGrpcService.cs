using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Metering.Contracts.Payments.V1;
using Metering.Domain;
using Metering.Payments.Data;
using Metering.Payments.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Proto = Metering.Contracts.Payments.V1;

namespace Metering.Payments.Grpc;

/// <remarks>
/// gRPC creates the service for every call. A DbContext (its options are built per scope) and the desks that
/// hold one cost more CPU than a whole balance read on SQLite, so each RPC takes what it uses from the
/// call's scope (<paramref name="services"/>) instead of the constructor resolving all of them every time.
/// </remarks>
public sealed class PaymentsGrpcService(
    IServiceProvider services,
    BalanceReader balances,
    TimeProvider clock,
    IOptions<PaymentsOptions> options)
    : Proto.Payments.PaymentsBase
{
    private PaymentsDbContext Db => services.GetRequiredService<PaymentsDbContext>();
    private PaymentPoster Poster => services.GetRequiredService<PaymentPoster>();
    private PaymentReverser Reverser => services.GetRequiredService<PaymentReverser>();
    private Reconciler Reconciler => services.GetRequiredService<Reconciler>();
    private WithholdingDesk WithholdingDesk => services.GetRequiredService<WithholdingDesk>();

    public override async Task<Balance> GetBalance(GetBalanceRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var ledger = await balances.ReadAsync(() => Db, userNumber.Value, context.CancellationToken)
            ?? throw new NotFoundException("account", userNumber.Value);

        var balance = new Balance
        {
            UserNumber = userNumber.Value,
            OutstandingFen = ledger.OutstandingFen,
            CreditFen = ledger.CreditFen,
            // Channels show this to whoever typed the user number: never the full name or the flat.
            HolderName = Masking.HolderName(ledger.HolderName),
            Address = Masking.Address(ledger.Address),
        };
        balance.UnpaidBills.AddRange(ledger.Unpaid.Select(r => new UnpaidBill
        {
            BillId = r.BillId.ToString(),
            PeriodStart = DateText.Format(r.PeriodStart),
            PeriodEnd = DateText.Format(r.PeriodEnd),
            VolumeLitres = r.VolumeLitres,
            AmountFen = r.AmountFen,
            PaidFen = r.PaidFen,
            OutstandingFen = r.AmountFen - r.PaidFen,
            DueDate = DateText.Format(r.DueDate),
        }));
        return balance;
    }

    public override async Task<AccountLedger> GetAccountLedger(GetAccountLedgerRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var cancellationToken = context.CancellationToken;
        var account = await Db.LedgerAccounts.AsNoTracking().SingleOrDefaultAsync(a => a.UserNumber == userNumber.Value, cancellationToken)
            ?? throw new NotFoundException("account", userNumber.Value);
        var bills = await Db.Receivables.AsNoTracking().Where(r => r.LedgerAccountId == account.Id)
            .OrderBy(r => r.PeriodEnd).ThenBy(r => r.Id).ToListAsync(cancellationToken);
        var payments = await Db.Payments.AsNoTracking().Where(p => p.LedgerAccountId == account.Id)
            .OrderBy(p => p.ReceivedAt).ToListAsync(cancellationToken);
        var mandate = await Db.WithholdingMandates.AsNoTracking()
            .SingleOrDefaultAsync(m => m.UserNumber == userNumber.Value && m.RevokedAt == null, cancellationToken);

        var ledger = new AccountLedger
        {
            UserNumber = account.UserNumber,
            HolderName = account.HolderName ?? "",
            Address = account.Address ?? "",
            OutstandingFen = bills.Where(b => b.OutstandingFen > 0).Sum(b => b.OutstandingFen),
            CreditFen = account.CreditFen,
            Mandate = mandate is null ? null : ToProto(mandate),
        };
        ledger.Bills.AddRange(bills.Select(r => new LedgerBill
        {
            BillId = r.BillId.ToString(),
            PeriodStart = DateText.Format(r.PeriodStart),
            PeriodEnd = DateText.Format(r.PeriodEnd),
            VolumeLitres = r.VolumeLitres,
            AmountFen = r.AmountFen,
            PaidFen = r.PaidFen,
            DueDate = DateText.Format(r.DueDate),
            Cancelled = r.CancelledAt is not null,
        }));
        ledger.Payments.AddRange(payments.Select(p => new LedgerPayment
        {
            PaymentId = p.Id.ToString(),
            Channel = p.Channel,
            ChannelTransactionId = p.ChannelTransactionId,
            AmountFen = p.AmountFen,
            PaidAt = Utc(p.PaidAt),
            ReversedAt = p.ReversedAt is { } reversed ? Utc(reversed) : null,
        }));
        return ledger;
    }

    public override async Task<PostPaymentResponse> PostPayment(PostPaymentRequest request, ServerCallContext context)
    {
        var instruction = PaymentInstruction.Validate(request.UserNumber, request.Channel, request.ChannelTransactionId,
            request.AmountFen, ToInstant(request.PaidAt), clock.GetUtcNow(), options.Value.MaxAmountFen);
        var posted = await Poster.PostAsync(instruction, context.CancellationToken);

        var response = new PostPaymentResponse
        {
            PaymentId = posted.PaymentId.ToString(),
            OutstandingFen = posted.OutstandingFen,
            CreditFen = posted.CreditFen,
            Replayed = posted.Replayed,
        };
        response.Allocations.AddRange(posted.Allocations.Select(ToProto));
        return response;
    }

    public override async Task<ReversePaymentResponse> ReversePayment(ReversePaymentRequest request, ServerCallContext context)
    {
        var channel = PaymentChannel.Parse(request.Channel);
        if (string.IsNullOrEmpty(request.ChannelTransactionId))
            throw new InvalidArgumentException("channel_transaction_id", "is required");
        if (request.Reason.Length > 200)
            throw new InvalidArgumentException("reason", "must be at most 200 characters");
        var reversed = await Reverser.ReverseAsync(channel, request.ChannelTransactionId, request.Reason, context.CancellationToken);

        var response = new ReversePaymentResponse
        {
            PaymentId = reversed.PaymentId.ToString(),
            CreditTakenFen = reversed.CreditTakenFen,
            OutstandingFen = reversed.OutstandingFen,
            CreditFen = reversed.CreditFen,
            ReversedAt = Utc(reversed.ReversedAt),
            Replayed = reversed.Replayed,
        };
        response.UndoneAllocations.AddRange(reversed.Undone.Select(ToProto));
        return response;
    }

    public override async Task<ReconciliationReport> ReconcileStatement(ReconcileStatementRequest request, ServerCallContext context)
    {
        var channel = PaymentChannel.Parse(request.Channel);
        var date = DateText.Parse(request.StatementDate, "statement_date");
        var result = await Reconciler.ReconcileAsync(channel, date, request.Csv, request.PostMissing, context.CancellationToken);

        var comparison = result.Comparison;
        var report = new ReconciliationReport
        {
            Channel = channel.Name,
            StatementDate = DateText.Format(date),
            Matched = comparison.Matched.Count,
            MatchedAmountFen = comparison.MatchedFen,
        };
        report.MissingOnOurSide.AddRange(result.MissingOnOurSide.Select(m => new MissingOnOurSide
        {
            Line = ToProto(m.Entry),
            PostedPaymentId = m.PostedPaymentId?.ToString() ?? "",
            NotPostedReason = m.NotPostedReason ?? "",
        }));
        report.MissingOnChannelSide.AddRange(comparison.MissingOnChannelSide.Select(p => new MissingOnChannelSide
        {
            PaymentId = p.PaymentId.ToString(),
            ChannelTransactionId = p.TransactionId,
            UserNumber = p.UserNumber,
            AmountFen = p.AmountFen,
            PaidAt = Timestamp.FromDateTimeOffset(p.PaidAt),
        }));
        report.Mismatches.AddRange(comparison.Mismatches.Select(m => new Mismatch
        {
            Line = ToProto(m.Entry),
            PaymentId = m.Ours.PaymentId.ToString(),
            OurUserNumber = m.Ours.UserNumber,
            OurAmountFen = m.Ours.AmountFen,
            Kind = m.Kind switch
            {
                MismatchKind.Amount => "amount",
                MismatchKind.UserNumber => "user_number",
                _ => "reversed",
            },
        }));
        return report;
    }

    public override async Task<Proto.WithholdingMandate> PutWithholdingMandate(
        PutWithholdingMandateRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var bank = Withholding.BankCode(request.BankCode);
        var holder = Required(request.AccountHolder, "account_holder", Withholding.MaxHolderLength);
        var masked = BankAccount.Mask(request.BankAccount);
        var reference = Required(request.MandateReference, "mandate_reference", Withholding.MaxReferenceLength);
        return ToProto(await WithholdingDesk.PutMandateAsync(userNumber, bank, holder, masked, reference, context.CancellationToken));
    }

    public override async Task<Proto.WithholdingMandate> RevokeWithholdingMandate(
        RevokeWithholdingMandateRequest request, ServerCallContext context) =>
        ToProto(await WithholdingDesk.RevokeMandateAsync(UserNumber.Parse(request.UserNumber), context.CancellationToken));

    public override async Task<Proto.WithholdingBatch> ExportWithholdingBatch(
        ExportWithholdingBatchRequest request, ServerCallContext context)
    {
        var bank = string.IsNullOrWhiteSpace(request.BankCode) ? null : Withholding.BankCode(request.BankCode);
        var batch = await WithholdingDesk.ExportAsync(bank, context.CancellationToken);
        return new Proto.WithholdingBatch
        {
            BatchId = batch.BatchId.ToString(),
            Lines = batch.Lines.Count,
            TotalFen = batch.TotalFen,
            Csv = batch.Csv,
        };
    }

    public override async Task<WithholdingResult> ImportWithholdingResult(
        ImportWithholdingResultRequest request, ServerCallContext context)
    {
        if (!Guid.TryParse(request.BatchId, out var batchId))
            throw new InvalidArgumentException("batch_id", $"'{request.BatchId}' is not a batch id");
        var lines = await WithholdingDesk.ImportResultAsync(batchId, request.Csv, context.CancellationToken);

        var result = new WithholdingResult
        {
            BatchId = batchId.ToString(),
            Paid = lines.Count(l => l.Outcome == WithholdingDesk.Paid),
            PaidFen = lines.Where(l => l.Outcome == WithholdingDesk.Paid).Sum(l => l.AmountFen),
            Failed = lines.Count(l => l.Outcome == WithholdingDesk.Failed),
            Refused = lines.Count(l => l.Outcome == WithholdingDesk.Refused),
        };
        result.Lines.AddRange(lines.Select(l => new WithholdingLineOutcome
        {
            Line = l.Line,
            UserNumber = l.UserNumber,
            AmountFen = l.AmountFen,
            Outcome = l.Outcome,
            PaymentId = l.PaymentId?.ToString() ?? "",
            Reason = l.Reason,
        }));
        return result;
    }

    private static string Required(string? text, string field, int maxLength)
    {
        var value = text?.Trim() ?? "";
        if (value.Length == 0)
            throw new InvalidArgumentException(field, "is required");
        if (value.Length > maxLength)
            throw new InvalidArgumentException(field, $"must be at most {maxLength} characters");
        return value;
    }

    private static Proto.Allocation ToProto(BillShare share) =>
        new() { BillId = share.BillId.ToString(), AmountFen = share.AmountFen };

    private static StatementLine ToProto(StatementEntry entry) => new()
    {
        Line = entry.Line,
        TransactionId = entry.TransactionId,
        UserNumber = entry.UserNumber.Value,
        AmountFen = entry.AmountFen,
        PaidAt = Timestamp.FromDateTimeOffset(entry.PaidAt),
    };

    private static Proto.WithholdingMandate ToProto(Data.WithholdingMandate mandate) => new()
    {
        UserNumber = mandate.UserNumber,
        BankCode = mandate.BankCode,
        AccountHolder = mandate.AccountHolder,
        BankAccountMasked = mandate.BankAccountMasked,
        MandateReference = mandate.MandateReference,
        Active = mandate.RevokedAt is null,
    };

    private static Timestamp Utc(DateTime value) => Timestamp.FromDateTime(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private static DateTimeOffset? ToInstant(Timestamp? timestamp)
    {
        if (timestamp is null)
            return null;
        try
        {
            return timestamp.ToDateTimeOffset();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // Binary gRPC clients can send seconds/nanos outside what a timestamp may hold.
            throw new InvalidArgumentException("paid_at", "is not a valid timestamp");
        }
    }
}
