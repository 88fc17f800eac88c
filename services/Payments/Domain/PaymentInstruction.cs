using Metering.Domain;

namespace Metering.Payments.Domain;

/// <summary>A channel's payment notification, checked field by field before anything is read or written.</summary>
public sealed record PaymentInstruction(
    UserNumber UserNumber,
    PaymentChannel Channel,
    string ChannelTransactionId,
    long AmountFen,
    DateTimeOffset PaidAt)
{
    public const int MaxTransactionIdLength = 64;

    /// <summary>
    /// The default cap (<c>Payments:MaxAmountFen</c>): one million CNY, far above any household's water bill,
    /// so a larger amount is a typo or an attack.
    /// </summary>
    public const long MaxAmountFen = 100_000_000;

    /// <summary>Channels' clocks drift and time zones get mixed up, but a payment dated later than this is wrong.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromDays(1);

    public static PaymentInstruction Validate(
        string? userNumber, string? channel, string? channelTransactionId, long amountFen, DateTimeOffset? paidAt,
        DateTimeOffset now, long maxAmountFen = MaxAmountFen)
    {
        var number = UserNumber.Parse(userNumber);
        var paymentChannel = PaymentChannel.Parse(channel);

        // The key is kept exactly as sent (no trimming): it is the channel's identifier, not ours.
        if (string.IsNullOrEmpty(channelTransactionId))
            throw new InvalidArgumentException("channel_transaction_id", "is required");
        if (channelTransactionId.Length > MaxTransactionIdLength)
            throw new InvalidArgumentException("channel_transaction_id",
                $"must be at most {MaxTransactionIdLength} characters, got {channelTransactionId.Length}");
        if (!channelTransactionId.All(c => c is >= '!' and <= '~'))
            throw new InvalidArgumentException("channel_transaction_id", "may contain printable ASCII characters only, without spaces");

        if (amountFen <= 0)
            throw new InvalidArgumentException("amount_fen", $"must be more than 0, got {amountFen}");
        if (amountFen > maxAmountFen)
            throw new InvalidArgumentException("amount_fen", $"must be at most {maxAmountFen}, got {amountFen}");

        if (paidAt is not { } paid)
            throw new InvalidArgumentException("paid_at", "is required");
        if (paid > now + MaxClockSkew)
            throw new InvalidArgumentException("paid_at", $"{paid:O} is more than a day in the future");

        return new PaymentInstruction(number, paymentChannel, channelTransactionId, amountFen, paid.ToUniversalTime());
    }
}
