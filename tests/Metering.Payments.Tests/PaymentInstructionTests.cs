using Metering.Domain;
using Metering.Payments.Domain;

namespace Metering.Payments.Tests;

public class PaymentInstructionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private const string Known = "1000000016";

    private static PaymentInstruction Validate(
        string? userNumber = Known, string? channel = "counter", string? transaction = "C-20261128-0001",
        long amount = 50_000, DateTimeOffset? paidAt = null, bool noPaidAt = false) =>
        PaymentInstruction.Validate(userNumber, channel, transaction, amount, noPaidAt ? null : paidAt ?? Now.AddHours(-1), Now);

    [Theory]
    [InlineData("wechat")]
    [InlineData("alipay")]
    [InlineData("bank_withholding")]
    [InlineData("online_banking")]
    [InlineData("website")]
    [InlineData("counter")]
    public void Every_channel_of_the_design_is_known(string name) =>
        Assert.Equal(name, PaymentChannel.Parse(name).Name);

    [Fact]
    public void Channel_names_are_normalised_because_they_are_part_of_the_idempotency_key() =>
        Assert.Equal(PaymentChannel.Wechat, PaymentChannel.Parse(" WeChat "));

    [Fact]
    public void A_valid_payment_is_kept_in_UTC()
    {
        var payment = Validate(channel: "alipay", paidAt: new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.FromHours(8)));

        Assert.Equal(PaymentChannel.Alipay, payment.Channel);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 1, 0, 0, TimeSpan.Zero), payment.PaidAt);
        Assert.Equal(TimeSpan.Zero, payment.PaidAt.Offset);
    }

    [Fact]
    public void Limits_are_inclusive()
    {
        Assert.Equal(PaymentInstruction.MaxAmountFen, Validate(amount: PaymentInstruction.MaxAmountFen).AmountFen);
        Assert.Equal(64, Validate(transaction: new string('x', 64)).ChannelTransactionId.Length);
        Assert.Equal(Now.AddDays(1), Validate(paidAt: Now.AddDays(1)).PaidAt);
    }

    public static TheoryData<Func<PaymentInstruction>, string> Refusals => new()
    {
        { () => Validate(userNumber: null), "user_number" },
        { () => Validate(userNumber: "12345"), "user_number" },
        { () => Validate(userNumber: "10000000ab"), "user_number" },
        { () => Validate(userNumber: "1000000017"), "user_number" },
        { () => Validate(channel: ""), "channel" },
        { () => Validate(channel: "paypal"), "channel" },
        { () => Validate(channel: "bank"), "channel" },
        { () => Validate(transaction: null), "channel_transaction_id" },
        { () => Validate(transaction: ""), "channel_transaction_id" },
        { () => Validate(transaction: new string('x', 65)), "channel_transaction_id" },
        { () => Validate(transaction: "C 1"), "channel_transaction_id" },
        { () => Validate(transaction: "交易1"), "channel_transaction_id" },
        { () => Validate(transaction: "C\n1"), "channel_transaction_id" },
        { () => Validate(amount: 0), "amount_fen" },
        { () => Validate(amount: -100), "amount_fen" },
        { () => Validate(amount: PaymentInstruction.MaxAmountFen + 1), "amount_fen" },
        { () => Validate(noPaidAt: true), "paid_at" },
        { () => Validate(paidAt: Now.AddDays(1).AddSeconds(1)), "paid_at" },
        // Fields are checked in order, so the first bad one is named.
        { () => Validate(userNumber: "1", amount: 0), "user_number" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Bad_payments_are_refused_naming_the_field(Func<PaymentInstruction> validate, string field) =>
        Assert.Equal(field, Assert.Throws<InvalidArgumentException>(validate).Field);
}
