using CsvHelper;

namespace Metering.Accounts.Domain;

public sealed record HandoverEntry(string UserNumber, string HolderName, string Address, string Phone);

/// <summary>
/// The handover manifest as a CSV file. UTF-8 with a byte-order mark: without it, spreadsheet programs on
/// Chinese Windows read the file as GBK and show the holders' names garbled.
/// </summary>
public static class HandoverCsv
{
    public static readonly string[] Header = ["user_number", "holder_name", "address", "phone"];

    public static byte[] Write(IEnumerable<HandoverEntry> entries)
    {
        using var buffer = new MemoryStream();
        using (var csv = CsvWriter.Create(buffer, CsvWriterOptions.Default with { WriteByteOrderMark = true }, leaveOpen: true))
        {
            csv.WriteHeader(Header);
            foreach (var entry in entries)
                csv.WriteRecord([entry.UserNumber, entry.HolderName, entry.Address, entry.Phone]);
        }
        return buffer.ToArray();
    }
}
