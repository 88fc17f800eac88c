using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Metering.Contracts.Events;
using Metering.Contracts.Payments.V1;
using Metering.Hosting.Grpc;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Tests;

/// <summary>Reversals, cancelled bills, credit and what channels and operators see, through the gRPC surface.</summary>
public sealed class LedgerCasesTests : IDisposable
{
    private static readonly string Alice = LedgerHost.UserNumberFor(1);
    private static readonly DateTimeOffset PaidAt = new(2026, 10, 8, 9, 30, 0, TimeSpan.FromHours(8));

    private readonly LedgerHost _ledger = new();

    public void Dispose() => _ledger.Dispose();

    private Metering.Contracts.Payments.V1.Payments.PaymentsClient Client => _ledger.Client;

    private static PostPaymentRequest Payment(long amountFen, string transaction, string channel = "alipay") => new()
    {
        UserNumber = Alice,
        Channel = channel,
        ChannelTransactionId = transaction,
        AmountFen = amountFen,
        PaidAt = Timestamp.FromDateTimeOffset(PaidAt),
    };

    private static ReversePaymentRequest Reversal(string transaction, string channel = "alipay") =>
        new() { Channel = channel, ChannelTransactionId = transaction, Reason = "refund requested by the payer" };

    private async Task<IssuedBill[]> AliceWithTheYearsBillsAsync()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bills = LedgerHost.ThreeQuarters(Alice);
        foreach (var bill in bills)
            await _ledger.IssueAsync(bill);
        return bills;
    }

    private async Task<(long Outstanding, long Credit, (string, long)[] Paid)> StateAsync()
    {
        var ledger = await Client.GetAccountLedgerAsync(new GetAccountLedgerRequest { UserNumber = Alice });
        return (ledger.OutstandingFen, ledger.CreditFen, ledger.Bills.Select(b => (b.BillId, b.PaidFen)).ToArray());
    }

    [Fact]
    public async Task Reversing_a_partially_allocated_payment_opens_its_bills_again_and_a_second_reversal_changes_nothing()
    {
        var bills = await AliceWithTheYearsBillsAsync();
        var paid = await Client.PostPaymentAsync(Payment(50_000, "A-1"));
        Assert.Equal(52_648, paid.OutstandingFen);

        var reversed = await Client.ReversePaymentAsync(Reversal("A-1"));

        Assert.False(reversed.Replayed);
        Assert.Equal(paid.PaymentId, reversed.PaymentId);
        Assert.Equal((102_648L, 0L, 0L), (reversed.OutstandingFen, reversed.CreditFen, reversed.CreditTakenFen));
        Assert.Equal([(bills[1].BillId.ToString(), 16_800L), (bills[0].BillId.ToString(), 33_200L)],
            reversed.UndoneAllocations.Select(a => (a.BillId, a.AmountFen)));
        var balance = await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice });
        Assert.Equal((102_648L, 3), (balance.OutstandingFen, balance.UnpaidBills.Count));
        Assert.All(balance.UnpaidBills, b => Assert.Equal(0, b.PaidFen));

        var @event = Assert.Single(await _ledger.OutboxAsync<PaymentReversed>());
        Assert.Equal((Guid.Parse(paid.PaymentId), "alipay", "A-1", 50_000L, 50_000L),
            (@event.PaymentId, @event.Channel, @event.ChannelTransactionId, @event.AmountFen, @event.UndoneAllocations.Sum(a => a.AmountFen)));

        var before = await _ledger.CountAsync();
        var again = await Client.ReversePaymentAsync(Reversal("A-1"));
        Assert.True(again.Replayed);
        again.Replayed = false;
        Assert.Equal(reversed, again);
        Assert.Equal(before, await _ledger.CountAsync());
    }

    [Fact]
    public async Task Copies_of_one_refund_arriving_at_once_reverse_the_payment_once()
    {
        await AliceWithTheYearsBillsAsync();
        await Client.PostPaymentAsync(Payment(50_000, "A-1"));

        var answers = await Task.WhenAll(Enumerable.Range(0, 10)
            .Select(_ => Client.ReversePaymentAsync(Reversal("A-1")).ResponseAsync));

        Assert.Single(answers, a => !a.Replayed);
        Assert.Single(answers.Select(a => (a.PaymentId, a.OutstandingFen, a.UndoneAllocations.ToString())).Distinct());
        Assert.Single(await _ledger.OutboxAsync<PaymentReversed>());
        Assert.Equal((102_648L, 0L), ((await StateAsync()).Outstanding, (await StateAsync()).Credit));
    }

    [Fact]
    public async Task Reversing_an_overpayment_takes_back_its_credit_and_reopens_the_bill_that_credit_paid()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bills = LedgerHost.ThreeQuarters(Alice);
        await _ledger.IssueAsync(bills[0]);
        await Client.PostPaymentAsync(Payment(40_000, "A-1"));
        // 6 800 of credit pays part of the next bill as it arrives.
        await _ledger.IssueAsync(bills[1]);
        Assert.Equal((17_158L - 6_800L, 0L), ((await StateAsync()).Outstanding, (await StateAsync()).Credit));

        var reversed = await Client.ReversePaymentAsync(Reversal("A-1"));

        Assert.Equal((33_200L + 17_158L, 0L, 0L), (reversed.OutstandingFen, reversed.CreditFen, reversed.CreditTakenFen));
        Assert.Equal([(bills[0].BillId.ToString(), 33_200L), (bills[1].BillId.ToString(), 6_800L)],
            reversed.UndoneAllocations.Select(a => (a.BillId, a.AmountFen)));
    }

    [Fact]
    public async Task Reversing_an_overpayment_whose_credit_is_unused_takes_it_from_credit()
    {
        await _ledger.OpenAccountAsync(Alice);
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(Alice)[0]);
        await Client.PostPaymentAsync(Payment(40_000, "A-1"));

        var reversed = await Client.ReversePaymentAsync(Reversal("A-1"));

        Assert.Equal((33_200L, 0L, 6_800L), (reversed.OutstandingFen, reversed.CreditFen, reversed.CreditTakenFen));
    }

    [Fact]
    public async Task Reversal_of_an_unknown_transaction_or_channel_is_refused_and_writes_nothing()
    {
        await AliceWithTheYearsBillsAsync();
        await Client.PostPaymentAsync(Payment(50_000, "A-1"));
        var before = await _ledger.CountAsync();

        var unknown = await Assert.ThrowsAsync<RpcException>(() => Client.ReversePaymentAsync(Reversal("A-2")).ResponseAsync);
        var otherChannel = await Assert.ThrowsAsync<RpcException>(() => Client.ReversePaymentAsync(Reversal("A-1", "wechat")).ResponseAsync);
        var badChannel = await Assert.ThrowsAsync<RpcException>(() => Client.ReversePaymentAsync(Reversal("A-1", "paypal")).ResponseAsync);
        var noId = await Assert.ThrowsAsync<RpcException>(() => Client.ReversePaymentAsync(Reversal("")).ResponseAsync);

        Assert.Equal((StatusCode.NotFound, StatusCode.NotFound), (unknown.StatusCode, otherChannel.StatusCode));
        Assert.Equal((StatusCode.InvalidArgument, "channel"), (badChannel.StatusCode, ErrorDetails.ViolatedField(badChannel)));
        Assert.Equal((StatusCode.InvalidArgument, "channel_transaction_id"), (noId.StatusCode, ErrorDetails.ViolatedField(noId)));
        Assert.Equal(before, await _ledger.CountAsync());
    }

    [Fact]
    public async Task A_bill_cancelled_after_it_was_paid_turns_its_money_into_credit_for_the_other_bills()
    {
        var bills = await AliceWithTheYearsBillsAsync();
        await Client.PostPaymentAsync(Payment(33_200, "A-1"));

        // The first quarter's reading is corrected: Billing cancels the paid bill and issues a smaller one.
        await _ledger.CancelAsync(bills[0]);

        var (outstanding, credit, paid) = await StateAsync();
        // 33 200 of credit paid the second bill (17 158) and 16 042 of the third.
        Assert.Equal((52_290L - 16_042L, 0L), (outstanding, credit));
        Assert.Equal([(bills[0].BillId.ToString(), 33_200L), (bills[1].BillId.ToString(), 17_158L), (bills[2].BillId.ToString(), 16_042L)], paid);
        var ledger = await Client.GetAccountLedgerAsync(new GetAccountLedgerRequest { UserNumber = Alice });
        Assert.True(ledger.Bills[0].Cancelled);
        var allocated = await _ledger.OutboxAsync<PaymentAllocated>();
        Assert.Equal((null, 52_290L - 16_042L), (allocated[^1].PaymentId, allocated[^1].BalanceFen));
        Assert.Equal(33_200, allocated[^1].Allocations.Sum(a => a.AmountFen));
    }

    [Fact]
    public async Task Credit_from_a_cancelled_bill_pays_its_replacement()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bill = LedgerHost.ThreeQuarters(Alice)[0];
        await _ledger.IssueAsync(bill);
        await Client.PostPaymentAsync(Payment(33_200, "A-1"));

        var replacement = LedgerHost.Bill(Alice, LedgerHost.YearStart, bill.PeriodEnd, 90_000, 29_880);
        await _ledger.CancelAsync(bill, replacement.BillId);
        Assert.Equal((0L, 33_200L), ((await StateAsync()).Outstanding, (await StateAsync()).Credit));
        await _ledger.IssueAsync(replacement);

        Assert.Equal((0L, 33_200L - 29_880L), ((await StateAsync()).Outstanding, (await StateAsync()).Credit));
    }

    [Fact]
    public async Task A_cancellation_that_overtakes_its_bill_keeps_the_bill_from_ever_being_owed()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bill = LedgerHost.ThreeQuarters(Alice)[0];

        await _ledger.CancelAsync(bill);
        await _ledger.IssueAsync(bill);

        var balance = await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice });
        Assert.Equal((0L, 0L, 0), (balance.OutstandingFen, balance.CreditFen, balance.UnpaidBills.Count));
    }

    [Fact]
    public async Task BillCancelled_delivered_twice_credits_once()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bill = LedgerHost.ThreeQuarters(Alice)[0];
        await _ledger.IssueAsync(bill);
        await Client.PostPaymentAsync(Payment(33_200, "A-1"));
        var message = new BillCancelled(bill.BillId, Alice, bill.AmountFen, "corrected", null, DateTimeOffset.UtcNow);

        var id = Guid.NewGuid();
        await _ledger.DeliverAsync(message, id);
        await _ledger.DeliverAsync(message, id);
        await _ledger.DeliverAsync(message, Guid.NewGuid());

        Assert.Equal(33_200, (await StateAsync()).Credit);
    }

    [Fact]
    public async Task Postings_publish_PaymentAllocated_with_the_balance_Billing_brings_forward()
    {
        var bills = await AliceWithTheYearsBillsAsync();

        var paid = await Client.PostPaymentAsync(Payment(50_000, "A-1"));
        var overpaid = await Client.PostPaymentAsync(Payment(60_000, "A-2"));

        var allocated = await _ledger.OutboxAsync<PaymentAllocated>();
        Assert.Equal(2, allocated.Count);
        Assert.Equal((Guid.Parse(paid.PaymentId), 52_648L), (allocated[0].PaymentId!.Value, allocated[0].BalanceFen));
        Assert.Equal([(bills[0].BillId, 33_200L), (bills[1].BillId, 16_800L)], allocated[0].Allocations.Select(a => (a.BillId, a.AmountFen)));
        // The second payment leaves 7 352 of credit: a negative balance.
        Assert.Equal((Guid.Parse(overpaid.PaymentId), -7_352L), (allocated[1].PaymentId!.Value, allocated[1].BalanceFen));
    }

    [Fact]
    public async Task Channels_see_the_holder_masked_and_operators_see_the_record()
    {
        await AliceWithTheYearsBillsAsync();

        var channelView = await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice });
        var operatorView = await Client.GetAccountLedgerAsync(new GetAccountLedgerRequest { UserNumber = Alice });

        Assert.Equal(("张*明", "幸福小区 3号楼"), (channelView.HolderName, channelView.Address));
        Assert.Equal(("张三明", "东昌府区 幸福小区 3号楼 2单元 301"), (operatorView.HolderName, operatorView.Address));
        Assert.Equal((102_648L, 3), (operatorView.OutstandingFen, operatorView.Bills.Count));
    }

    [Fact]
    public async Task The_amount_cap_is_configurable()
    {
        using var capped = new LedgerHost(new Dictionary<string, string?> { ["Payments:MaxAmountFen"] = "50000" });
        await capped.OpenAccountAsync(Alice);
        await capped.IssueAsync(LedgerHost.ThreeQuarters(Alice));

        var ok = await capped.Client.PostPaymentAsync(Payment(50_000, "A-1"));
        var refused = await Assert.ThrowsAsync<RpcException>(() => capped.Client.PostPaymentAsync(Payment(50_001, "A-2")).ResponseAsync);

        Assert.Equal(52_648, ok.OutstandingFen);
        Assert.Equal((StatusCode.InvalidArgument, "amount_fen"), (refused.StatusCode, ErrorDetails.ViolatedField(refused)));
        Assert.Contains("at most 50000", refused.Status.Detail);
    }
}
