using System.Globalization;

namespace Metering.Domain;

/// <summary>
/// A household's user number (用水编号): ten digits, the last a Luhn check digit over the first nine.
/// Channels type it by hand, so a mistyped digit is refused as malformed before any look-up.
/// </summary>
public readonly record struct UserNumber
{
    public const int Length = 10;
    public const long MaxBody = 999_999_999;

    private UserNumber(string value) => Value = value;

    public string Value { get; }

    /// <summary>Builds the user number whose first nine digits are <paramref name="body"/>.</summary>
    public static UserNumber FromBody(long body)
    {
        if (body is < 0 or > MaxBody)
            throw new ArgumentOutOfRangeException(nameof(body), body, "a user number body has nine digits");
        var digits = body.ToString("D9", CultureInfo.InvariantCulture);
        return new UserNumber(digits + Luhn.CheckDigit(digits));
    }

    /// <summary>Parses what a caller sent; a malformed number is an invalid argument naming <paramref name="field"/>.</summary>
    public static UserNumber Parse(string? text, string field = "user_number")
    {
        if (string.IsNullOrEmpty(text))
            throw new InvalidArgumentException(field, "is required");
        if (text.Length != Length)
            throw new InvalidArgumentException(field, $"must have {Length} digits, got {text.Length} characters");
        if (!text.All(char.IsAsciiDigit))
            throw new InvalidArgumentException(field, "must contain digits only");
        if (!Luhn.IsValid(text))
            throw new InvalidArgumentException(field, "check digit does not match (mistyped user number?)");
        return new UserNumber(text);
    }

    public override string ToString() => Value;
}

/// <summary>The Luhn (mod 10) check digit, which catches every single-digit error and most swaps of neighbours.</summary>
public static class Luhn
{
    public static char CheckDigit(ReadOnlySpan<char> payload)
    {
        var sum = 0;
        // Walking from the right, the digit next to the check digit is doubled, then every other one.
        for (int i = payload.Length - 1, position = 0; i >= 0; i--, position++)
        {
            var d = payload[i] - '0';
            if (position % 2 == 0)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
        }
        return (char)('0' + (10 - sum % 10) % 10);
    }

    public static bool IsValid(ReadOnlySpan<char> number) =>
        number.Length >= 2 && CheckDigit(number[..^1]) == number[^1];
}
