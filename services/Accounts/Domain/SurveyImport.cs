using System.Globalization;
using System.Text;
using CsvHelper;
using Metering.Domain;

namespace Metering.Accounts.Domain;

/// <summary>One data row of a survey CSV as written, before any check.</summary>
public sealed record SurveyRow(int Line, string Community, string Building, string Riser, string Unit, string Holder, string Phone, string Persons);

/// <summary>
/// The community survey as CSV: one row per household with the columns below (header required, any order,
/// UTF-8 with or without BOM). A file whose header or encoding is wrong is refused as a whole; a bad row is
/// answered on its own.
/// </summary>
public static class SurveyCsv
{
    public static readonly string[] Columns = ["community", "building", "riser", "unit", "holder", "phone", "persons"];

    public const string Field = "csv";

    /// <summary>Decodes bytes as strict UTF-8: a GBK file saved by a spreadsheet program is refused, not garbled.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw NotUtf8();
        }
    }

    public static IReadOnlyList<SurveyRow> Parse(string? text)
    {
        try
        {
            return ParseRows(text);
        }
        catch (Exception e) when (e is CsvFormatException or CsvValidationException)
        {
            // What the parser cannot read at all (not a row it can hand to the row checks) refuses the file.
            throw new InvalidArgumentException(Field, $"cannot be read as CSV: {e.Message}");
        }
    }

    private static List<SurveyRow> ParseRows(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new InvalidArgumentException(Field, $"is empty; expected a header line {string.Join(",", Columns)}");
        // A replacement character means the text was decoded from another encoding on its way here.
        if (text.Contains('\uFFFD'))
            throw NotUtf8();

        var options = CsvReaderOptions.Default with
        {
            Separator = ',',
            HasHeader = true,
            TrimWhitespace = true,
            SkipEmptyLines = true,
            TrackLineNumbers = true,
        };
        using var csv = CsvReader.FromText(text.TrimStart('\uFEFF'), options);
        var header = csv.Headers.Select(h => h.Trim().ToLowerInvariant()).ToList();
        if (header.Count == 0 || header.All(h => h.Length == 0))
            throw new InvalidArgumentException(Field, "has no header line");
        var missing = Columns.Where(c => !header.Contains(c)).ToList();
        var unknown = header.Where(h => !Columns.Contains(h)).ToList();
        if (missing.Count > 0 || unknown.Count > 0 || header.Count != Columns.Length)
        {
            var problems = new List<string>();
            if (missing.Count > 0) problems.Add($"missing {string.Join(", ", missing)}");
            if (unknown.Count > 0) problems.Add($"unknown {string.Join(", ", unknown)}");
            if (problems.Count == 0) problems.Add("a column appears twice");
            throw new InvalidArgumentException(Field,
                $"header must have the columns {string.Join(",", Columns)}: {string.Join("; ", problems)}");
        }
        var index = Columns.ToDictionary(c => c, c => header.IndexOf(c));

        var rows = new List<SurveyRow>();
        while (csv.Read())
        {
            // A short row reads its missing fields as empty: the row is then refused for the field it lacks.
            string Get(string column) => index[column] < csv.FieldCount ? csv.GetString(index[column]) ?? "" : "";
            rows.Add(new SurveyRow((int)csv.LineNumber, Get("community"), Get("building"), Get("riser"), Get("unit"),
                Get("holder"), Get("phone"), Get("persons")));
        }
        return rows;
    }

    private static InvalidArgumentException NotUtf8() =>
        new(Field, "is not valid UTF-8 (save the file as \"CSV UTF-8\"; GBK/ANSI files are not accepted)");
}

public enum SurveyOutcome { Created, Unchanged, Refused }

/// <summary>What the registry already holds for the community being imported.</summary>
public sealed record SurveyedHousehold(long HouseholdId, HouseholdDetails Details);

public sealed record SurveyDecision(
    SurveyRow Row, SurveyOutcome Outcome, string Building, string Riser, HouseholdDetails? Details, long? HouseholdId, string? Reason)
{
    public (string Building, string Riser) RiserKey => (Building, Riser);
}

/// <summary>
/// Decides every survey row against what is registered: a new household is created, the same household
/// again is unchanged (so a re-import is harmless), anything else is refused with the reason.
/// </summary>
public static class SurveyImport
{
    public const int MaxLabelLength = 20;

    public static IReadOnlyList<SurveyDecision> Decide(
        string communityName,
        IReadOnlyList<SurveyRow> rows,
        IReadOnlySet<(string Building, string Riser)> convertedRisers,
        IReadOnlyDictionary<(string Building, string Riser, string Unit), SurveyedHousehold> registered)
    {
        var decisions = new List<SurveyDecision>(rows.Count);
        // Households this file creates, so that a unit twice in one file is caught too.
        var inFile = new Dictionary<(string, string, string), HouseholdDetails>();
        foreach (var row in rows)
        {
            SurveyDecision Refuse(string reason, string building = "", string riser = "") =>
                new(row, SurveyOutcome.Refused, building, riser, null, null, reason);
            try
            {
                if (!string.Equals(row.Community.Trim(), communityName, StringComparison.Ordinal))
                {
                    decisions.Add(Refuse($"community '{row.Community.Trim()}' is not '{communityName}', the community being imported"));
                    continue;
                }
                var building = Fields.Required(row.Building, "building", MaxLabelLength);
                var riser = Fields.Required(row.Riser, "riser", MaxLabelLength);
                if (!int.TryParse(row.Persons.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var persons))
                    throw new InvalidArgumentException("persons", $"'{row.Persons.Trim()}' is not a whole number");
                var details = HouseholdDetails.Validate(row.Unit, row.Holder, row.Phone, persons);
                var key = (building, riser, details.Unit);

                if (registered.TryGetValue(key, out var existing))
                {
                    decisions.Add(existing.Details == details
                        ? new SurveyDecision(row, SurveyOutcome.Unchanged, building, riser, details, existing.HouseholdId, null)
                        : Refuse($"unit {details.Unit} of {building} {riser} is already registered with other details " +
                                 $"({existing.Details.HolderName}, {existing.Details.Phone}, {existing.Details.Persons} persons)",
                            building, riser));
                    continue;
                }
                if (convertedRisers.Contains((building, riser)))
                {
                    decisions.Add(Refuse($"{building} {riser} is already converted; a household cannot be added to it", building, riser));
                    continue;
                }
                if (inFile.TryGetValue(key, out var earlier))
                {
                    decisions.Add(earlier == details
                        ? new SurveyDecision(row, SurveyOutcome.Unchanged, building, riser, details, null, null)
                        : Refuse($"unit {details.Unit} of {building} {riser} appears twice in the file with different details",
                            building, riser));
                    continue;
                }
                inFile[key] = details;
                decisions.Add(new SurveyDecision(row, SurveyOutcome.Created, building, riser, details, null, null));
            }
            catch (InvalidArgumentException invalid)
            {
                decisions.Add(Refuse($"{invalid.Field}: {invalid.Reason}"));
            }
        }
        return decisions;
    }
}
