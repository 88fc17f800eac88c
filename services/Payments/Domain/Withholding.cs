using System.Globalization;
using CsvHelper;
using Metering.Domain;

namespace Metering.Payments.Domain;

/// <summary>A line of a withholding batch: what the bank is asked to collect from one mandated account.</summary>
public sealed record WithholdingRequestLine(
    int Line, string UserNumber, string BankCode, string MandateReference, string AccountHolder, string BankAccountMasked,
    long AmountFen);

public enum WithholdingOutcome
{
    Paid,
    Failed,
}

/// <summary>A line of the bank's result file.</summary>
public sealed record WithholdingResultLine(
    int FileLine, int Line, UserNumber UserNumber, long AmountFen, WithholdingOutcome Outcome, DateTimeOffset? PaidAt, string Reason);

/// <summary>Bank withholding (代扣) files: the batch sent to the bank and the result file it sends back.</summary>
public static class Withholding
{
    public static readonly string[] BatchColumns =
        ["line", "user_number", "bank_code", "mandate_reference", "account_holder", "bank_account_masked", "amount_fen"];

    public static readonly string[] ResultColumns = ["line", "user_number", "amount_fen", "result", "paid_at", "reason"];

    public const int MaxBankCodeLength = 16;
    public const int MaxReferenceLength = 64;
    public const int MaxHolderLength = 50;

    /// <summary>The channel transaction id of a batch line's payment: a line is paid at most once, however often its result is imported.</summary>
    public static string TransactionId(Guid batchId, int line) => $"{batchId:N}-{line}";

    public static string BankCode(string? text)
    {
        var code = text?.Trim().ToUpperInvariant() ?? "";
        if (code.Length == 0)
            throw new InvalidArgumentException("bank_code", "is required");
        if (code.Length > MaxBankCodeLength || !code.All(char.IsAsciiLetterOrDigit))
            throw new InvalidArgumentException("bank_code", $"must be 1 to {MaxBankCodeLength} letters or digits");
        return code;
    }

    public static string WriteBatch(IEnumerable<WithholdingRequestLine> lines)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = CsvWriter.Create(text, CsvWriterOptions.Default, leaveOpen: true))
        {
            csv.WriteHeader(BatchColumns);
            foreach (var l in lines)
                csv.WriteRecord([
                    l.Line.ToString(CultureInfo.InvariantCulture), l.UserNumber, l.BankCode, l.MandateReference,
                    l.AccountHolder, l.BankAccountMasked, l.AmountFen.ToString(CultureInfo.InvariantCulture),
                ]);
        }
        return text.ToString();
    }

    public static List<WithholdingResultLine> ParseResult(string? content, TimeZoneInfo utilityZone)
    {
        var lines = CsvFile.Read(content, "csv", ResultColumns, row =>
        {
            var lineText = row.Text("line");
            if (!int.TryParse(lineText, NumberStyles.None, CultureInfo.InvariantCulture, out var line) || line <= 0)
                throw row.Bad("line", $"'{lineText}' is not a batch line number");
            var result = row.Text("result").ToLowerInvariant();
            var outcome = result switch
            {
                "paid" => WithholdingOutcome.Paid,
                "failed" => WithholdingOutcome.Failed,
                _ => throw row.Bad("result", $"'{result}' is not paid or failed"),
            };
            DateTimeOffset? paidAt = outcome == WithholdingOutcome.Paid ? row.Instant("paid_at", utilityZone) : null;
            var reason = row.Text("reason", required: outcome == WithholdingOutcome.Failed);
            return new WithholdingResultLine(row.Line, line, row.UserNumber("user_number"), row.PositiveFen("amount_fen"),
                outcome, paidAt, reason);
        });
        var repeated = lines.GroupBy(l => l.Line).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new InvalidArgumentException($"csv.line[{repeated.Skip(1).First().FileLine}].line",
                $"batch line {repeated.Key} appears more than once");
        return lines;
    }
}
