using System.Globalization;

namespace Metering.Domain;

/// <summary>Dates on the wire are ISO <c>YYYY-MM-DD</c> strings.</summary>
public static class DateText
{
    public const string Pattern = "yyyy-MM-dd";

    public static DateOnly Parse(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new InvalidArgumentException(field, "is required (YYYY-MM-DD)");
        if (!DateOnly.TryParseExact(text, Pattern, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            throw new InvalidArgumentException(field, $"'{text}' is not a date in the form YYYY-MM-DD");
        return date;
    }

    public static string Format(DateOnly date) => date.ToString(Pattern, CultureInfo.InvariantCulture);

    public static string Format(DateOnly? date) => date is { } d ? Format(d) : "";
}
