namespace Metering.Hosting.Security;

/// <summary>The roles of issue 8 and the payment channels a <c>channel:&lt;name&gt;</c> role can name.</summary>
public static class Roles
{
    public const string Operator = "operator";
    public const string Admin = "admin";
    public const string Auditor = "auditor";
    public const string ChannelPrefix = "channel:";

    /// <summary>The channel's role value: <c>channel:wechat</c>.</summary>
    public static string Channel(string name) => ChannelPrefix + name;

    public static IReadOnlyList<string> Channels { get; } =
        ["wechat", "alipay", "bank_withholding", "online_banking", "website", "counter"];

    public static bool IsValid(string role) =>
        role is Operator or Admin or Auditor ||
        (role.StartsWith(ChannelPrefix, StringComparison.Ordinal) && Channels.Contains(role[ChannelPrefix.Length..]));

    /// <summary>The channel name of a channel role, null for the others.</summary>
    public static string? ChannelOf(string role) =>
        role.StartsWith(ChannelPrefix, StringComparison.Ordinal) ? role[ChannelPrefix.Length..] : null;
}
