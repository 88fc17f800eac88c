using Metering.Domain;

namespace Metering.Payments.Domain;

/// <summary>One transaction of a channel's daily statement.</summary>
public sealed record StatementEntry(int Line, string TransactionId, UserNumber UserNumber, long AmountFen, DateTimeOffset PaidAt);

/// <summary>A payment of the ledger, as reconciliation compares it.</summary>
public sealed record LedgerPaymentView(
    Guid PaymentId, string TransactionId, string UserNumber, long AmountFen, DateTimeOffset PaidAt, bool Reversed);

public enum MismatchKind
{
    Amount,
    UserNumber,

    /// <summary>We reversed (refunded) it; the channel still counts it as paid.</summary>
    Reversed,
}

public sealed record StatementMismatch(StatementEntry Entry, LedgerPaymentView Ours, MismatchKind Kind);

public sealed record Reconciliation(
    IReadOnlyList<StatementEntry> Matched,
    IReadOnlyList<StatementEntry> MissingOnOurSide,
    IReadOnlyList<LedgerPaymentView> MissingOnChannelSide,
    IReadOnlyList<StatementMismatch> Mismatches)
{
    public long MatchedFen => Matched.Sum(m => m.AmountFen);
}

/// <summary>A channel's daily statement: its CSV format and how it is compared with the ledger.</summary>
public static class Statement
{
    public static readonly string[] Columns = ["transaction_id", "user_number", "amount_fen", "paid_at"];

    public static List<StatementEntry> Parse(string? csv, TimeZoneInfo utilityZone)
    {
        var entries = CsvFile.Read(csv, "csv", Columns, row =>
        {
            var transaction = row.Text("transaction_id");
            if (transaction.Length > PaymentInstruction.MaxTransactionIdLength || !transaction.All(c => c is >= '!' and <= '~'))
                throw row.Bad("transaction_id",
                    $"must be at most {PaymentInstruction.MaxTransactionIdLength} printable ASCII characters without spaces");
            return new StatementEntry(row.Line, transaction, row.UserNumber("user_number"), row.PositiveFen("amount_fen"),
                row.Instant("paid_at", utilityZone));
        });
        var repeated = entries.GroupBy(e => e.TransactionId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new InvalidArgumentException($"csv.line[{repeated.Skip(1).First().Line}].transaction_id",
                $"'{repeated.Key}' appears more than once in the statement");
        return entries;
    }

    /// <summary>
    /// Matches by transaction id. <paramref name="oursByTransaction"/> holds our payments of the
    /// statement's transaction ids whatever their date; <paramref name="oursOfTheDay"/> our
    /// payments dated on the statement's day, which the channel should have listed.
    /// </summary>
    public static Reconciliation Reconcile(
        IReadOnlyList<StatementEntry> statement,
        IReadOnlyDictionary<string, LedgerPaymentView> oursByTransaction,
        IEnumerable<LedgerPaymentView> oursOfTheDay)
    {
        var matched = new List<StatementEntry>();
        var missingOurs = new List<StatementEntry>();
        var mismatches = new List<StatementMismatch>();
        foreach (var entry in statement)
        {
            if (!oursByTransaction.TryGetValue(entry.TransactionId, out var ours))
                missingOurs.Add(entry);
            else if (ours.Reversed)
                mismatches.Add(new StatementMismatch(entry, ours, MismatchKind.Reversed));
            else if (ours.UserNumber != entry.UserNumber.Value)
                mismatches.Add(new StatementMismatch(entry, ours, MismatchKind.UserNumber));
            else if (ours.AmountFen != entry.AmountFen)
                mismatches.Add(new StatementMismatch(entry, ours, MismatchKind.Amount));
            else
                matched.Add(entry);
        }

        var listed = statement.Select(e => e.TransactionId).ToHashSet(StringComparer.Ordinal);
        var missingChannel = oursOfTheDay
            .Where(p => !p.Reversed && !listed.Contains(p.TransactionId))
            .OrderBy(p => p.PaidAt).ThenBy(p => p.TransactionId, StringComparer.Ordinal)
            .ToList();
        return new Reconciliation(matched, missingOurs, missingChannel, mismatches);
    }
}
