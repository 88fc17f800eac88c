using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Metering.Contracts.Payments.V1;
using Metering.Domain;
using Metering.Payments.Data;
using Metering.Payments.Domain;
using Microsoft.EntityFrameworkCore;
using Proto = Metering.Contracts.Payments.V1;

namespace Metering.Payments.Grpc;

public sealed class PaymentsGrpcService(PaymentsDbContext db, PaymentPoster poster, TimeProvider clock)
    : Proto.Payments.PaymentsBase
{
    public override async Task<Balance> GetBalance(GetBalanceRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        // One query, so the credit and the bills come from the same committed state.
        var ledger = await db.LedgerAccounts.AsNoTracking()
            .Where(a => a.UserNumber == userNumber.Value)
            .Select(a => new
            {
                a.CreditFen,
                Unpaid = a.Receivables
                    .Where(r => r.AmountFen > r.PaidFen)
                    .OrderBy(r => r.PeriodEnd).ThenBy(r => r.Id)
                    .ToList(),
            })
            .SingleOrDefaultAsync(context.CancellationToken)
            ?? throw new NotFoundException("account", userNumber.Value);

        var balance = new Balance
        {
            UserNumber = userNumber.Value,
            OutstandingFen = ledger.Unpaid.Sum(r => r.OutstandingFen),
            CreditFen = ledger.CreditFen,
        };
        balance.UnpaidBills.AddRange(ledger.Unpaid.Select(r => new UnpaidBill
        {
            BillId = r.BillId.ToString(),
            PeriodStart = DateText.Format(r.PeriodStart),
            PeriodEnd = DateText.Format(r.PeriodEnd),
            VolumeLitres = r.VolumeLitres,
            AmountFen = r.AmountFen,
            PaidFen = r.PaidFen,
            OutstandingFen = r.OutstandingFen,
            DueDate = DateText.Format(r.DueDate),
        }));
        return balance;
    }

    public override async Task<PostPaymentResponse> PostPayment(PostPaymentRequest request, ServerCallContext context)
    {
        var instruction = PaymentInstruction.Validate(request.UserNumber, request.Channel, request.ChannelTransactionId,
            request.AmountFen, ToInstant(request.PaidAt), clock.GetUtcNow());
        var posted = await poster.PostAsync(instruction, context.CancellationToken);

        var response = new PostPaymentResponse
        {
            PaymentId = posted.PaymentId.ToString(),
            OutstandingFen = posted.OutstandingFen,
            CreditFen = posted.CreditFen,
            Replayed = posted.Replayed,
        };
        response.Allocations.AddRange(posted.Allocations.Select(a => new Proto.Allocation
        {
            BillId = a.BillId.ToString(),
            AmountFen = a.AmountFen,
        }));
        return response;
    }

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
