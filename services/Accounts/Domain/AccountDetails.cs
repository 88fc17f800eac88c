using Metering.Domain;

namespace Metering.Accounts.Domain;

/// <summary>What a household's account records, checked field by field before anything is written.</summary>
public sealed record AccountDetails(
    string HolderName,
    string Address,
    string Phone,
    int Persons,
    string MeterSerial,
    long InitialRegisterLitres,
    DateOnly OpenedOn)
{
    /// <summary>A five-digit m³ register shows at most 99 999.999 m³.</summary>
    public const long DefaultRegisterCapacityLitres = 100_000_000;

    public const int MaxPersons = 30;

    public static AccountDetails Validate(
        string? holderName, string? address, string? phone, int persons, string? meterSerial,
        long initialRegisterLitres, string? openedOn, DateOnly today)
    {
        var name = Required(holderName, "holder_name", maxLength: 50);
        var addr = Required(address, "address", maxLength: 200);
        var tel = Required(phone, "phone", maxLength: 20);
        if (!tel.All(c => char.IsAsciiDigit(c) || c is '-' or '+' or ' ') || tel.Count(char.IsAsciiDigit) < 7)
            throw new InvalidArgumentException("phone", "must be a phone number of at least 7 digits (digits, spaces, '-' or '+')");
        if (persons is < 1 or > MaxPersons)
            throw new InvalidArgumentException("persons", $"must be between 1 and {MaxPersons}, got {persons}");
        var serial = Required(meterSerial, "meter_serial", maxLength: 32);
        if (!serial.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            throw new InvalidArgumentException("meter_serial", "may contain letters, digits and '-' only");
        if (initialRegisterLitres is < 0 or >= DefaultRegisterCapacityLitres)
            throw new InvalidArgumentException("initial_register_litres",
                $"must be between 0 and {DefaultRegisterCapacityLitres - 1} litres, got {initialRegisterLitres}");
        var opened = DateText.Parse(openedOn, "opened_on");
        if (opened > today)
            throw new InvalidArgumentException("opened_on", $"{DateText.Format(opened)} is in the future");
        return new AccountDetails(name, addr, tel, persons, serial, initialRegisterLitres, opened);
    }

    private static string Required(string? value, string field, int maxLength)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
            throw new InvalidArgumentException(field, "is required");
        if (trimmed.Length > maxLength)
            throw new InvalidArgumentException(field, $"must be at most {maxLength} characters, got {trimmed.Length}");
        return trimmed;
    }
}
