using Metering.Domain;

namespace Metering.Accounts.Domain;

/// <summary>The field checks shared by every request that names a household, a person or a place.</summary>
public static class Fields
{
    public static string Required(string? value, string field, int maxLength)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
            throw new InvalidArgumentException(field, "is required");
        if (trimmed.Length > maxLength)
            throw new InvalidArgumentException(field, $"must be at most {maxLength} characters, got {trimmed.Length}");
        return trimmed;
    }

    /// <summary>
    /// A mainland landline (with or without area code) has 7–12 digits, a mobile 11, an international number at
    /// most 15 (E.164); separators people type are allowed, letters are not.
    /// </summary>
    public static string Phone(string? value, string field = "phone")
    {
        var phone = Required(value, field, 20);
        var digits = phone.Count(char.IsAsciiDigit);
        if (!phone.All(c => char.IsAsciiDigit(c) || c is '-' or '+' or ' ') || digits is < 7 or > 15)
            throw new InvalidArgumentException(field, "must be a phone number of 7 to 15 digits (digits, spaces, '-' or '+')");
        return phone;
    }

    public static int Persons(int persons, string field = "persons")
    {
        if (persons is < 1 or > AccountDetails.MaxPersons)
            throw new InvalidArgumentException(field, $"must be between 1 and {AccountDetails.MaxPersons}, got {persons}");
        return persons;
    }

    /// <summary>A date that has happened: completion, signature, handover, effective dates.</summary>
    public static DateOnly PastDate(string? text, string field, DateOnly today)
    {
        var date = DateText.Parse(text, field);
        if (date > today)
            throw new InvalidArgumentException(field, $"{DateText.Format(date)} is in the future");
        return date;
    }
}

/// <summary>A surveyed household as the registry keeps it.</summary>
public sealed record HouseholdDetails(string Unit, string HolderName, string Phone, int Persons)
{
    public const int MaxUnitLength = 20;
    public const int MaxNameLength = 50;

    public static HouseholdDetails Validate(string? unit, string? holderName, string? phone, int persons) => new(
        Fields.Required(unit, "unit", MaxUnitLength),
        Fields.Required(holderName, "holder_name", MaxNameLength),
        Fields.Phone(phone),
        Fields.Persons(persons));
}

/// <summary>How a converted household's address reads on its account, its bills and the handover manifest.</summary>
public static class Addresses
{
    public static string For(string district, string subdistrict, string community, string building, string riser, string unit) =>
        $"{district} {subdistrict} {community} {building} {riser} {unit}";
}
