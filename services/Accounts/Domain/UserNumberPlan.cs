using System.Globalization;
using Metering.Domain;

namespace Metering.Accounts.Domain;

/// <summary>
/// How user numbers are laid out: a short prefix (the utility can give each district its own),
/// then a serial filling the rest of the nine-digit body, then the Luhn check digit.
/// </summary>
public sealed class UserNumberPlan
{
    public const string DefaultPrefix = "1";

    public UserNumberPlan(string prefix)
    {
        if (prefix.Length is < 1 or > 4 || !prefix.All(char.IsAsciiDigit) || prefix[0] == '0')
            throw new ArgumentException($"user-number prefix '{prefix}' must be 1 to 4 digits, not starting with 0", nameof(prefix));
        Prefix = prefix;
        SerialDigits = 9 - prefix.Length;
        MaxSerial = (long)Math.Pow(10, SerialDigits) - 1;
    }

    public string Prefix { get; }

    public int SerialDigits { get; }

    public long MaxSerial { get; }

    public UserNumber For(long serial)
    {
        if (serial < 1)
            throw new ArgumentOutOfRangeException(nameof(serial), serial, "serials start at 1");
        if (serial > MaxSerial)
            throw new FailedPreconditionException(
                $"user numbers with prefix {Prefix} are exhausted ({MaxSerial} issued); configure another prefix");
        var body = Prefix + serial.ToString(CultureInfo.InvariantCulture).PadLeft(SerialDigits, '0');
        return UserNumber.FromBody(long.Parse(body, CultureInfo.InvariantCulture));
    }
}
