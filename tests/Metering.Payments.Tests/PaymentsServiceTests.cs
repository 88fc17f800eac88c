using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Metering.Contracts.Events;
using Metering.Contracts.Payments.V1;
using Metering.Hosting.Grpc;
using Metering.Payments.Data;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Tests;

public sealed class PaymentsServiceTests : IDisposable
{
    private static readonly string Alice = LedgerHost.UserNumberFor(1);
    private static readonly string Bob = LedgerHost.UserNumberFor(2);

    // Well formed (Luhn-valid) but never opened.
    private const string Unknown = "9999999999";

    private static readonly DateTimeOffset PaidAt = new(2026, 10, 8, 9, 30, 0, TimeSpan.FromHours(8));

    private readonly LedgerHost _ledger = new();

    public void Dispose() => _ledger.Dispose();

    private Metering.Contracts.Payments.V1.Payments.PaymentsClient Client => _ledger.Client;

    private static PostPaymentRequest Payment(string userNumber, long amountFen, string transaction = "C-0001",
        string channel = "counter") => new()
    {
        UserNumber = userNumber,
        Channel = channel,
        ChannelTransactionId = transaction,
        AmountFen = amountFen,
        PaidAt = Timestamp.FromDateTimeOffset(PaidAt),
    };

    private async Task<IssuedBill[]> AliceWithTheYearsBillsAsync()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bills = LedgerHost.ThreeQuarters(Alice);
        // One billing run per reading, as in the thin flow.
        foreach (var bill in bills)
            await _ledger.IssueAsync(bill);
        return bills;
    }

    private async Task<RpcException> RefusedAsync<T>(Func<AsyncUnaryCall<T>> call) =>
        await Assert.ThrowsAsync<RpcException>(() => call().ResponseAsync);

    [Fact]
    public async Task The_thin_flow_pays_the_oldest_bill_first_and_a_repeat_changes_nothing()
    {
        var bills = await AliceWithTheYearsBillsAsync();

        var owed = await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice });
        Assert.Equal(102_648, owed.OutstandingFen);
        Assert.Equal(0, owed.CreditFen);
        Assert.Equal(bills.Select(b => b.BillId.ToString()), owed.UnpaidBills.Select(b => b.BillId));
        var first = owed.UnpaidBills[0];
        Assert.Equal(("2026-01-01", "2026-03-31", 100_000L, 33_200L, 0L, 33_200L, "2026-04-30"),
            (first.PeriodStart, first.PeriodEnd, first.VolumeLitres, first.AmountFen, first.PaidFen, first.OutstandingFen, first.DueDate));

        var paid = await Client.PostPaymentAsync(Payment(Alice, 50_000));

        Assert.False(paid.Replayed);
        Assert.Equal(52_648, paid.OutstandingFen);
        Assert.Equal(0, paid.CreditFen);
        Assert.Equal([(bills[0].BillId.ToString(), 33_200L), (bills[1].BillId.ToString(), 16_800L)],
            paid.Allocations.Select(a => (a.BillId, a.AmountFen)));

        var after = await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice });
        Assert.Equal(52_648, after.OutstandingFen);
        Assert.Equal([(bills[1].BillId.ToString(), 16_800L, 358L), (bills[2].BillId.ToString(), 0L, 52_290L)],
            after.UnpaidBills.Select(b => (b.BillId, b.PaidFen, b.OutstandingFen)));

        // The payment and its event were committed together.
        var received = Assert.Single(await _ledger.OutboxAsync<PaymentReceived>());
        Assert.Equal((Guid.Parse(paid.PaymentId), Alice, "counter", "C-0001", 50_000L, 0L),
            (received.PaymentId, received.UserNumber, received.Channel, received.ChannelTransactionId, received.AmountFen, received.CreditFen));
        Assert.Equal(PaidAt, received.PaidAt);
        Assert.Equal(received.AmountFen, received.Allocations.Sum(a => a.AmountFen) + received.CreditFen);

        var before = await _ledger.CountAsync();
        var again = await Client.PostPaymentAsync(Payment(Alice, 50_000));

        Assert.True(again.Replayed);
        again.Replayed = false;
        Assert.Equal(paid, again);
        Assert.Equal(before, await _ledger.CountAsync());
        Assert.Equal(52_648, (await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice })).OutstandingFen);
    }

    [Fact]
    public async Task A_repeat_gets_the_original_answer_even_after_the_account_changed()
    {
        var bills = await AliceWithTheYearsBillsAsync();
        var paid = await Client.PostPaymentAsync(Payment(Alice, 50_000, "C-1"));
        await Client.PostPaymentAsync(Payment(Alice, 10_000, "C-2"));

        var again = await Client.PostPaymentAsync(Payment(Alice, 50_000, "C-1"));

        Assert.True(again.Replayed);
        Assert.Equal((paid.PaymentId, 52_648L), (again.PaymentId, again.OutstandingFen));
        Assert.Equal(bills[0].BillId.ToString(), again.Allocations[0].BillId);
    }

    public static TheoryData<string, long, string> OtherContent => new()
    {
        { "amount", 49_999, Alice },
        { "user number", 50_000, Bob },
    };

    [Theory]
    [MemberData(nameof(OtherContent))]
    public async Task The_same_transaction_with_other_content_is_refused_and_writes_nothing(string what, long amount, string userNumber)
    {
        await AliceWithTheYearsBillsAsync();
        await _ledger.OpenAccountAsync(Bob, "李四");
        await Client.PostPaymentAsync(Payment(Alice, 50_000, "W-1", "wechat"));
        var before = await _ledger.CountAsync();

        var error = await RefusedAsync(() => Client.PostPaymentAsync(Payment(userNumber, amount, "W-1", "wechat")));

        Assert.True(error.StatusCode == StatusCode.AlreadyExists, $"another {what}: {error.Status}");
        Assert.Equal(before, await _ledger.CountAsync());
    }

    [Fact]
    public async Task The_same_transaction_paid_at_another_time_is_refused()
    {
        await AliceWithTheYearsBillsAsync();
        await Client.PostPaymentAsync(Payment(Alice, 50_000));
        var request = Payment(Alice, 50_000);
        request.PaidAt = Timestamp.FromDateTimeOffset(PaidAt.AddMinutes(1));

        Assert.Equal(StatusCode.AlreadyExists, (await RefusedAsync(() => Client.PostPaymentAsync(request))).StatusCode);
    }

    [Fact]
    public async Task The_same_transaction_id_on_another_channel_is_another_payment()
    {
        await AliceWithTheYearsBillsAsync();
        var counter = await Client.PostPaymentAsync(Payment(Alice, 1_000, "T-1", "counter"));
        var alipay = await Client.PostPaymentAsync(Payment(Alice, 1_000, "T-1", "alipay"));

        Assert.NotEqual(counter.PaymentId, alipay.PaymentId);
        Assert.Equal(102_648 - 2_000, alipay.OutstandingFen);
    }

    public static TheoryData<Action<PostPaymentRequest>, string> BadPayments => new()
    {
        { p => p.AmountFen = 0, "amount_fen" },
        { p => p.AmountFen = -50_000, "amount_fen" },
        { p => p.AmountFen = 100_000_001, "amount_fen" },
        { p => p.UserNumber = "12345", "user_number" },
        { p => p.UserNumber = "10000000ab", "user_number" },
        { p => p.UserNumber = "1000000017", "user_number" },
        { p => p.Channel = "paypal", "channel" },
        { p => p.ChannelTransactionId = "", "channel_transaction_id" },
        { p => p.ChannelTransactionId = new string('9', 65), "channel_transaction_id" },
        { p => p.PaidAt = null, "paid_at" },
        { p => p.PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(2)), "paid_at" },
        { p => p.PaidAt = new Timestamp { Seconds = long.MaxValue }, "paid_at" },
    };

    [Theory]
    [MemberData(nameof(BadPayments))]
    public async Task Bad_payments_are_refused_naming_the_field_and_write_nothing(Action<PostPaymentRequest> spoil, string field)
    {
        await AliceWithTheYearsBillsAsync();
        var before = await _ledger.CountAsync();
        var request = Payment(Alice, 50_000);
        spoil(request);

        var error = await RefusedAsync(() => Client.PostPaymentAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, ErrorDetails.ViolatedField(error));
        Assert.Equal(before, await _ledger.CountAsync());
    }

    [Theory]
    [InlineData("12345", StatusCode.InvalidArgument)]
    [InlineData("10000000ab", StatusCode.InvalidArgument)]
    [InlineData("1000000017", StatusCode.InvalidArgument)]
    [InlineData(Unknown, StatusCode.NotFound)]
    public async Task Bad_or_unknown_user_numbers_are_refused(string userNumber, StatusCode expected)
    {
        await _ledger.OpenAccountAsync(Alice);
        var before = await _ledger.CountAsync();

        var balance = await RefusedAsync(() => Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber }));
        var payment = await RefusedAsync(() => Client.PostPaymentAsync(Payment(userNumber, 50_000)));

        Assert.Equal((expected, expected), (balance.StatusCode, payment.StatusCode));
        if (expected == StatusCode.InvalidArgument)
            Assert.Equal(("user_number", "user_number"), (ErrorDetails.ViolatedField(balance), ErrorDetails.ViolatedField(payment)));
        Assert.Equal(before, await _ledger.CountAsync());
    }

    [Fact]
    public async Task An_account_without_bills_owes_nothing() =>
        Assert.Equal((0L, 0L, 0), await BalanceOf(Alice, open: true));

    private async Task<(long Outstanding, long Credit, int Unpaid)> BalanceOf(string userNumber, bool open = false)
    {
        if (open)
            await _ledger.OpenAccountAsync(userNumber);
        var balance = await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber });
        return (balance.OutstandingFen, balance.CreditFen, balance.UnpaidBills.Count);
    }

    [Fact]
    public async Task An_overpayment_becomes_credit_that_the_next_bills_use_up()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bills = LedgerHost.ThreeQuarters(Alice);
        await _ledger.IssueAsync(bills[0]);

        var paid = await Client.PostPaymentAsync(Payment(Alice, 40_000));
        Assert.Equal((0L, 6_800L), (paid.OutstandingFen, paid.CreditFen));
        Assert.Equal((0L, 6_800L, 0), await BalanceOf(Alice));

        // The credit pays part of the next bill as soon as it arrives...
        await _ledger.IssueAsync(bills[1]);
        Assert.Equal((17_158L - 6_800L, 0L, 1), await BalanceOf(Alice));
        var fromCredit = await _ledger.QueryAsync(db => db.Allocations.Include(a => a.Receivable)
            .Where(a => a.Source == AllocationSource.Credit).SingleAsync());
        Assert.Equal((bills[1].BillId, 6_800L, (Guid?)null), (fromCredit.Receivable.BillId, fromCredit.AmountFen, fromCredit.PaymentId));

        // ...and what a bill does not need stays credit.
        await Client.PostPaymentAsync(Payment(Alice, 20_000, "C-2"));
        Assert.Equal((0L, 20_000L - 10_358L, 0), await BalanceOf(Alice));
        await _ledger.IssueAsync(LedgerHost.Bill(Alice, new DateOnly(2026, 6, 30), new DateOnly(2026, 7, 31), 1_000, 4_000));
        Assert.Equal((0L, 9_642L - 4_000L, 0), await BalanceOf(Alice));
    }

    [Fact]
    public async Task Credit_pays_the_oldest_of_several_new_bills_first()
    {
        await _ledger.OpenAccountAsync(Alice);
        await Client.PostPaymentAsync(Payment(Alice, 40_000));
        var bills = LedgerHost.ThreeQuarters(Alice);

        // One run issuing the year's bills youngest first: credit still goes to the oldest.
        await _ledger.IssueAsync(bills.Reverse().ToArray());

        var balance = await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice });
        Assert.Equal((102_648L - 40_000L, 0L), (balance.OutstandingFen, balance.CreditFen));
        Assert.Equal([(bills[1].BillId.ToString(), 6_800L), (bills[2].BillId.ToString(), 0L)],
            balance.UnpaidBills.Select(b => (b.BillId, b.PaidFen)));
    }

    [Fact]
    public async Task A_negative_bill_is_credit_for_the_open_bills()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bills = LedgerHost.ThreeQuarters(Alice);
        await _ledger.IssueAsync(bills[0]);

        // An actual reading below the last estimate bills as a credit.
        await _ledger.IssueAsync(LedgerHost.Bill(Alice, new DateOnly(2026, 3, 31), new DateOnly(2026, 4, 30), -10_000, -3_320));

        Assert.Equal((33_200L - 3_320L, 0L, 1), await BalanceOf(Alice));
    }

    [Fact]
    public async Task BillIssued_delivered_twice_creates_receivables_once()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bills = LedgerHost.ThreeQuarters(Alice);
        var run = new BillIssued(Guid.NewGuid(), bills, DateTimeOffset.UtcNow);
        var messageId = Guid.NewGuid();

        await _ledger.IssueAsync(run, messageId);
        await _ledger.IssueAsync(run, messageId);
        // A resumed run may send the same bills in a message of its own: the bill id still counts once.
        await _ledger.IssueAsync(run, Guid.NewGuid());

        Assert.Equal(3, (await _ledger.CountAsync()).Receivables);
        Assert.Equal((102_648L, 0L, 3), await BalanceOf(Alice));
    }

    [Fact]
    public async Task A_bill_that_overtakes_AccountOpened_is_kept_and_the_holder_filled_in_later()
    {
        var bill = LedgerHost.ThreeQuarters(Bob)[0];
        await _ledger.IssueAsync(bill);
        Assert.Equal((33_200L, 0L, 1), await BalanceOf(Bob));

        await _ledger.OpenAccountAsync(Bob, "李四");

        var account = await _ledger.QueryAsync(db => db.LedgerAccounts.SingleAsync());
        Assert.Equal((Bob, "李四"), (account.UserNumber, account.HolderName));
        Assert.Equal((33_200L, 0L, 1), await BalanceOf(Bob));
    }

    [Fact]
    public async Task Fifteen_copies_of_one_notification_at_once_post_one_payment()
    {
        await AliceWithTheYearsBillsAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 15)
            .Select(_ => Client.PostPaymentAsync(Payment(Alice, 50_000, "4200001234202610081234567890", "wechat")).ResponseAsync));

        Assert.Single(answers, a => !a.Replayed);
        Assert.Single(answers.Select(a => (a.PaymentId, a.OutstandingFen, a.CreditFen, a.Allocations.ToString())).Distinct());
        Assert.Equal(52_648, answers[0].OutstandingFen);
        var counts = await _ledger.CountAsync();
        // One PaymentReceived and one PaymentAllocated.
        Assert.Equal((1, 2, 2, 50_000L), (counts.Payments, counts.Allocations, counts.OutboxMessages, counts.PaidFen));
    }

    [Fact]
    public async Task Payments_for_one_account_at_once_never_pay_a_bill_twice()
    {
        await AliceWithTheYearsBillsAsync();

        var answers = await Task.WhenAll(Enumerable.Range(1, 12)
            .Select(i => Client.PostPaymentAsync(Payment(Alice, 10_000, $"A-{i}", "alipay")).ResponseAsync));

        Assert.Equal(12, answers.Select(a => a.PaymentId).Distinct().Count());
        var receivables = await _ledger.QueryAsync(db => db.Receivables.ToListAsync());
        Assert.All(receivables, r => Assert.Equal(r.AmountFen, r.PaidFen));
        var counts = await _ledger.CountAsync();
        // Money is conserved: 120 000 fen received = 102 648 allocated + 17 352 credit.
        Assert.Equal((102_648L, 17_352L), (counts.PaidFen, counts.CreditFen));
        Assert.Equal(102_648, await _ledger.QueryAsync(db => db.Allocations.SumAsync(a => a.AmountFen)));
        // Exactly one payment saw the last bill settled with money to spare.
        Assert.Equal(17_352, answers.Max(a => a.CreditFen));
    }
}
