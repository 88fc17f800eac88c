using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Spectre.Console;

namespace Metering.Cli;

/// <summary>How amounts, volumes and dates look on the operator's screen.</summary>
public static class Format
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Fen as yuan with two decimals, thousands separated: 102648 → "1,026.48 CNY".</summary>
    public static string Money(long fen) => (fen / 100m).ToString("N2", Invariant) + " CNY";

    /// <summary>Litres as cubic metres with three decimals: 260000 → "260.000 m³".</summary>
    public static string Volume(long litres) => (litres / 1000m).ToString("N3", Invariant) + " m³";

    public static string Esc(string? text) => Markup.Escape(text ?? "");

    /// <summary>Money typed by an operator ("500", "500.5", "1,026.48") as fen; never through double.</summary>
    public static long ParseMoney(string text, string option)
    {
        var cleaned = text.Replace(",", "").Replace("CNY", "", StringComparison.OrdinalIgnoreCase).Trim();
        if (!decimal.TryParse(cleaned, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, Invariant, out var yuan)
            || decimal.Round(yuan, 2) != yuan)
            throw new UsageException($"{option}: '{text}' is not an amount in CNY with at most two decimals");
        return (long)(yuan * 100);
    }

    /// <summary>A volume typed in m³ ("260", "12.5") as litres.</summary>
    public static long ParseVolume(string text, string option)
    {
        if (!decimal.TryParse(text.Trim(), NumberStyles.AllowDecimalPoint, Invariant, out var m3) || decimal.Round(m3, 3) != m3)
            throw new UsageException($"{option}: '{text}' is not a volume in m³ with at most three decimals");
        return (long)(m3 * 1000);
    }

    /// <summary>A day as YYYY-MM-DD (checked here so a typo is a usage error, not a round trip).</summary>
    public static string Day(string? text, string option, bool required = true)
    {
        if (string.IsNullOrEmpty(text))
            return required ? throw new UsageException($"{option}: a date YYYY-MM-DD is required") : "";
        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", Invariant, DateTimeStyles.None, out _))
            throw new UsageException($"{option}: '{text}' is not a date YYYY-MM-DD");
        return text;
    }

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static JsonNode ToNode(IMessage message) => JsonNode.Parse(Json.Format(message))!;
}
