using System.Globalization;
using CsvHelper;
using Metering.Domain;

namespace Metering.Payments.Domain;

/// <summary>One data row of an imported CSV file, read by column name; bad values name the line and the column.</summary>
public sealed class CsvRow(CsvReader reader, IReadOnlyDictionary<string, int> columns, string fieldPrefix)
{
    /// <summary>Line number in the file; the header is line 1.</summary>
    public int Line => (int)reader.LineNumber;

    public InvalidArgumentException Bad(string column, string reason) =>
        new($"{fieldPrefix}.line[{Line}].{column}", reason);

    public string Text(string column, bool required = true)
    {
        var index = columns[column];
        // A short row reads its missing fields as empty: the row is then refused for the field it lacks.
        var value = index < reader.FieldCount ? reader.GetString(index)?.Trim() ?? "" : "";
        if (required && value.Length == 0)
            throw Bad(column, "is required");
        return value;
    }
    public long PositiveFen(string column)
    {
        var text = Text(column);
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var fen) || fen <= 0)
            throw Bad(column, $"'{text}' is not a positive whole number of fen");
        return fen;
    }

    public UserNumber UserNumber(string column)
    {
        var text = Text(column);
        try
        {
            return Metering.Domain.UserNumber.Parse(text);
        }
        catch (InvalidArgumentException ex)
        {
            throw Bad(column, ex.Reason);
        }
    }

    /// <summary>ISO 8601; a time without an offset is the utility's local time, as channels' statements usually are.</summary>
    public DateTimeOffset Instant(string column, TimeZoneInfo localZone)
    {
        var text = Text(column);
        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed))
            throw Bad(column, $"'{text}' is not a date and time (ISO 8601, e.g. 2026-10-05T10:00:00+08:00)");
        if (parsed.Kind == DateTimeKind.Unspecified)
            return new DateTimeOffset(parsed, localZone.GetUtcOffset(parsed)).ToUniversalTime();
        return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture).ToUniversalTime();
    }
}

/// <summary>Reads an imported CSV file (header row, comma separated) with CsvHelper, refusing it whole on the first bad row.</summary>
public static class CsvFile
{
    public static List<T> Read<T>(string? content, string field, IReadOnlyList<string> columns, Func<CsvRow, T> row)
    {
        if (string.IsNullOrWhiteSpace(content))
            throw new InvalidArgumentException(field, $"is empty; expected a header row: {string.Join(',', columns)}");
        var options = CsvReaderOptions.Default with
        {
            Separator = ',',
            HasHeader = true,
            TrimWhitespace = true,
            SkipEmptyLines = true,
            TrackLineNumbers = true,
        };
        using var csv = CsvReader.FromText(content.TrimStart('\uFEFF'), options);
        var header = csv.Headers.Select(h => h.Trim().ToLowerInvariant()).ToList();
        var missing = columns.Where(c => !header.Contains(c)).ToList();
        if (missing.Count > 0)
            throw new InvalidArgumentException(field,
                $"the header lacks {string.Join(", ", missing)}; expected {string.Join(',', columns)}");

        var current = new CsvRow(csv, columns.ToDictionary(c => c, c => header.IndexOf(c)), field);
        var rows = new List<T>();
        while (csv.Read())
            rows.Add(row(current));
        return rows;
    }
}
