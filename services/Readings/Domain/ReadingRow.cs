using System.Globalization;
using CsvHelper;
using Metering.Domain;

namespace Metering.Readings.Domain;

/// <summary>
/// One row of a bulk load as it arrived. <paramref name="Malformed"/> is set when a value could not even be
/// read (a non-numeric register, an unknown kind): the row is then refused with that field and reason.
/// </summary>
public sealed record ReadingRow(long Row, string? UserNumber, string? ReadOn, long RegisterLitres, ReadingKind Kind,
    InvalidArgumentException? Malformed = null);

/// <summary>
/// A reading route's file: CSV with the header <c>user_number,read_on,register_litres,kind</c>; kind is
/// <c>ACTUAL</c> (or empty) or <c>ESTIMATED</c> (the register is then left empty and estimated).
/// A file with other columns is refused whole; a bad value refuses its row only.
/// </summary>
public static class ReadingRouteFile
{
    public static readonly string[] Columns = ["user_number", "read_on", "register_litres", "kind"];

    public static List<ReadingRow> Parse(string? csv)
    {
        if (string.IsNullOrWhiteSpace(csv))
            throw new InvalidArgumentException("csv", $"is empty; expected the header {string.Join(',', Columns)}");
        var options = CsvReaderOptions.Default with
        {
            Separator = ',',
            HasHeader = true,
            TrimWhitespace = true,
            SkipEmptyLines = true,
        };
        using var reader = CsvReader.FromText(csv.TrimStart('\uFEFF'), options);
        var header = reader.Headers.Select(h => h.Trim().ToLowerInvariant()).ToArray();
        if (!header.SequenceEqual(Columns))
            throw new InvalidArgumentException("csv",
                $"columns must be {string.Join(',', Columns)}; the file has {string.Join(',', header)}");

        var rows = new List<ReadingRow>();
        long number = 0;
        while (reader.Read())
        {
            number++;
            var fields = new string[reader.FieldCount];
            for (var i = 0; i < fields.Length; i++)
                fields[i] = reader.GetString(i) ?? "";
            rows.Add(ParseRow(number, fields));
        }
        return rows;
    }

    private static ReadingRow ParseRow(long number, string[] fields)
    {
        string? Field(int i) => i < fields.Length ? fields[i] : null;
        if (fields.Length != Columns.Length)
            return new ReadingRow(number, Field(0), Field(1), 0, ReadingKind.Actual,
                new InvalidArgumentException("csv", $"row has {fields.Length} fields, expected {Columns.Length}"));

        var kindText = fields[3].ToUpperInvariant();
        ReadingKind kind;
        switch (kindText)
        {
            case "" or "ACTUAL":
                kind = ReadingKind.Actual;
                break;
            case "ESTIMATED":
                kind = ReadingKind.Estimated;
                break;
            default:
                return new ReadingRow(number, fields[0], fields[1], 0, ReadingKind.Actual,
                    new InvalidArgumentException("kind", $"'{fields[3]}' is not ACTUAL or ESTIMATED"));
        }

        long register = 0;
        if (kind == ReadingKind.Actual || fields[2].Length > 0)
        {
            if (!long.TryParse(fields[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out register))
                return new ReadingRow(number, fields[0], fields[1], 0, kind,
                    new InvalidArgumentException("register_litres", $"'{fields[2]}' is not a whole number of litres"));
        }
        return new ReadingRow(number, fields[0], fields[1], register, kind);
    }
}
