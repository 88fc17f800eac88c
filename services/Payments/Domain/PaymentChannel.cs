using Metering.Domain;

namespace Metering.Payments.Domain;

/// <summary>
/// A payment channel. Part of the idempotency key (channel, channel transaction id), so its
/// spelling is normalised: "WeChat" and "wechat" are the same channel.
/// </summary>
public readonly record struct PaymentChannel
{
    public static readonly PaymentChannel Wechat = new("wechat");
    public static readonly PaymentChannel Alipay = new("alipay");
    public static readonly PaymentChannel BankWithholding = new("bank_withholding");
    public static readonly PaymentChannel OnlineBanking = new("online_banking");
    public static readonly PaymentChannel Website = new("website");
    public static readonly PaymentChannel Counter = new("counter");

    public static IReadOnlyList<PaymentChannel> All { get; } =
        [Wechat, Alipay, BankWithholding, OnlineBanking, Website, Counter];

    /// <summary>The longest name, for the database column.</summary>
    public const int MaxLength = 20;

    private PaymentChannel(string name) => Name = name;

    public string Name { get; }

    public static PaymentChannel Parse(string? text, string field = "channel")
    {
        var name = text?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(name))
            throw new InvalidArgumentException(field, $"is required (one of {string.Join(", ", All)})");
        foreach (var channel in All)
            if (channel.Name == name)
                return channel;
        throw new InvalidArgumentException(field, $"'{text}' is not one of {string.Join(", ", All)}");
    }

    public override string ToString() => Name;
}
