using Metering.Domain;

namespace Metering.Payments.Domain;

/// <summary>
/// A withholding mandate's bank account. Only the masked form is kept: the bank holds the full
/// number under the signed mandate and finds it by the mandate reference.
/// </summary>
public static class BankAccount
{
    public const int MaskedLength = 19;

    public static string Mask(string? number, string field = "bank_account")
    {
        var digits = number?.Replace(" ", "").Trim() ?? "";
        if (digits.Length == 0)
            throw new InvalidArgumentException(field, "is required");
        if (digits.Length is < 12 or > 19 || !digits.All(char.IsAsciiDigit))
            throw new InvalidArgumentException(field, "must be 12 to 19 digits");
        return digits[..4] + new string('*', digits.Length - 8) + digits[^4..];
    }
}
