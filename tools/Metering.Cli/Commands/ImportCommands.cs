using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Readings.V1;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli.Commands;

internal static class Progress
{
    /// <summary>Runs <paramref name="work"/> under a live progress bar, or plainly in JSON mode (stdout stays one document).</summary>
    public static async Task<T> RunAsync<T>(Output o, string label, double total, Func<Action<double, string?>, Task<T>> work)
    {
        if (o.Json)
            return await work((_, _) => { });
        return await o.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Format.Esc(label), maxValue: Math.Max(total, 1));
                var result = await work((value, description) =>
                {
                    task.Value = value;
                    if (description is not null)
                        task.Description = Format.Esc(description);
                });
                task.Value = task.MaxValue;
                return result;
            });
    }

    /// <summary>Writes the refused rows (header first) so the operator can fix them and import this file again.</summary>
    public static string? WriteErrors(string input, string header, IEnumerable<string> lines, IEnumerable<string> reasons)
    {
        var rows = lines.ToList();
        var errors = input + ".errors.csv";
        if (rows.Count == 0)
        {
            if (File.Exists(errors))
                File.Delete(errors);
            return null;
        }
        File.WriteAllLines(errors, rows.Prepend(header), new UTF8Encoding(false));
        File.WriteAllLines(input + ".errors.txt", reasons, new UTF8Encoding(false));
        return errors;
    }
}

public sealed class SurveyImport : MeterCommand<SurveyImport.Settings>
{
    public sealed class Settings : CommunityIdSettings
    {
        [CommandArgument(1, "<FILE>")] [Description("The survey CSV (UTF-8).")] public string File { get; set; } = "";
    }

    private const int ChunkBytes = 16 * 1024;

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        if (!File.Exists(s.File))
            throw new UsageException($"<FILE>: '{s.File}' not found");
        var bytes = await File.ReadAllBytesAsync(s.File, ct);
        var clock = Stopwatch.StartNew();
        var response = await Progress.RunAsync(o, $"survey {Path.GetFileName(s.File)}", bytes.Length, async report =>
        {
            using var call = c.Accounts.StreamSurvey(c.Streaming(ct));
            for (var offset = 0; offset < bytes.Length; offset += ChunkBytes)
            {
                var length = Math.Min(ChunkBytes, bytes.Length - offset);
                await call.RequestStream.WriteAsync(new SurveyChunk { CommunityId = s.CommunityId, Data = ByteString.CopyFrom(bytes, offset, length) }, ct);
                report(offset + length, $"survey {Path.GetFileName(s.File)}: {offset + length:N0} of {bytes.Length:N0} bytes sent");
            }
            await call.RequestStream.CompleteAsync();
            report(bytes.Length, "survey: waiting for the service to write the households");
            return await call.ResponseAsync;
        });

        // The service numbers rows by their line in the file (header = line 1).
        var lines = Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF').Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var refused = response.Rows.Where(r => r.Outcome == SurveyRowOutcome.RowRefused).ToList();
        var errors = Progress.WriteErrors(s.File, lines[0],
            refused.Select(r => r.Line >= 1 && r.Line <= lines.Length ? lines[r.Line - 1] : ""),
            refused.Select(r => $"line {r.Line} (unit {r.Unit}): {r.Reason}"));
        var node = Format.ToNode(response);
        node["errorsFile"] = errors;
        return o.Result(node, console =>
        {
            if (refused.Count > 0)
            {
                var table = Output.Table("line", "unit", "reason");
                foreach (var r in refused)
                    table.AddRow(r.Line.ToString(), Format.Esc(r.Unit), Format.Esc(r.Reason));
                console.Write(table);
            }
            console.MarkupLine($"survey imported in {clock.Elapsed.TotalSeconds:F1} s: [green]{response.Created} created[/], {response.Unchanged} unchanged, " +
                               $"[{(response.Refused > 0 ? "red" : "green")}]{response.Refused} refused[/]");
            if (errors is not null)
                console.MarkupLine($"refused rows written to [yellow]{Format.Esc(errors)}[/] (reasons in .errors.txt): fix them and import that file again");
        });
    }
}

public sealed class ReadingImport : MeterCommand<ReadingImport.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<FILE>")] [Description("Route file: user_number,read_on,register_litres,kind.")] public string File { get; set; } = "";
        [CommandOption("--batch <ROWS>")] [Description("Rows per stream message (default 500).")] public int Batch { get; set; } = 500;
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        if (!File.Exists(s.File))
            throw new UsageException($"<FILE>: '{s.File}' not found");
        if (s.Batch <= 0)
            throw new UsageException("--batch: must be at least 1");
        var lines = (await File.ReadAllLinesAsync(s.File, Encoding.UTF8, ct)).Select(l => l.TrimStart('\uFEFF')).ToArray();
        if (lines.Length == 0 || !lines[0].Replace(" ", "").Equals("user_number,read_on,register_litres,kind", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"<FILE>: the first line must be the header user_number,read_on,register_litres,kind");

        // Rows the client cannot even send (a register that is not a number) are refused here, with the others.
        var sent = new List<string>();
        var local = new List<(string Line, string Reason)>();
        var rows = new List<ReadingRow>();
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
                continue;
            var row = ReadingRows.Parse(lines[i], out var reason);
            if (row is null)
                local.Add((lines[i], $"line {i + 1}: {reason}"));
            else
            {
                rows.Add(row);
                sent.Add(lines[i]);
            }
        }

        var clock = Stopwatch.StartNew();
        var response = await Progress.RunAsync(o, "route file", rows.Count, async report =>
        {
            using var call = c.Readings.StreamReadings(c.Streaming(ct));
            for (var offset = 0; offset < rows.Count; offset += s.Batch)
            {
                var batch = new ReadingRow();
                batch.Rows.AddRange(rows.Skip(offset).Take(s.Batch));
                await call.RequestStream.WriteAsync(batch, ct);
                var done = offset + batch.Rows.Count;
                report(done, $"route file: {done:N0} of {rows.Count:N0} rows sent ({done / Math.Max(clock.Elapsed.TotalSeconds, 0.001):N0}/s)");
            }
            await call.RequestStream.CompleteAsync();
            report(rows.Count, "route file: waiting for the service to store the readings");
            return await call.ResponseAsync;
        });

        // Rows come back numbered 1.. in the order sent; only those not accepted are listed.
        var problems = response.Results.Where(r => r.Outcome == RowOutcome.RowRefused).ToList();
        var errors = Progress.WriteErrors(s.File, lines[0],
            local.Select(l => l.Line).Concat(problems.Select(p => sent[(int)p.Row - 1])),
            local.Select(l => l.Reason).Concat(problems.Select(p => $"row {p.Row} ({p.UserNumber}): {(p.Field.Length > 0 ? p.Field + ": " : "")}{p.Reason}")));
        var node = Format.ToNode(response);
        node["refusedBeforeSending"] = local.Count;
        node["errorsFile"] = errors;
        return o.Result(node, console =>
        {
            var notAccepted = response.Results.Where(r => r.Outcome != RowOutcome.RowAccepted).ToList();
            if (notAccepted.Count + local.Count > 0)
            {
                var table = Output.Table("row", "user number", "outcome", "field", "reason");
                foreach (var l in local)
                    table.AddRow("-", "", "[red]not sent[/]", "", Format.Esc(l.Reason));
                foreach (var r in notAccepted.Take(50))
                    table.AddRow(r.Row.ToString(), Format.Esc(r.UserNumber), r.Outcome.ToString(), Format.Esc(r.Field), Format.Esc(r.Reason));
                console.Write(table);
            }
            console.MarkupLine($"{response.Rows:N0} rows in {clock.Elapsed.TotalSeconds:F1} s: [green]{response.Accepted:N0} accepted[/], " +
                               $"{response.Held:N0} held, {response.Duplicates:N0} duplicates, [{(response.Refused + local.Count > 0 ? "red" : "green")}]{response.Refused + local.Count:N0} refused[/]");
            if (errors is not null)
                console.MarkupLine($"refused rows written to [yellow]{Format.Esc(errors)}[/] (reasons in .errors.txt): fix them and import that file again");
        });
    }
}

internal static class ReadingRows
{
    public static ReadingRow? Parse(string line, out string reason)
    {
        var f = line.Split(',').Select(x => x.Trim()).ToArray();
        reason = "";
        if (f.Length != 4)
        {
            reason = $"expected 4 fields, found {f.Length}";
            return null;
        }
        var kind = f[3].ToUpperInvariant() switch
        {
            "" or "ACTUAL" => ReadingKind.Actual,
            "ESTIMATED" => ReadingKind.Estimated,
            _ => (ReadingKind?)null,
        };
        if (kind is null)
        {
            reason = $"kind: '{f[3]}' is not ACTUAL or ESTIMATED";
            return null;
        }
        long litres = 0;
        if (kind == ReadingKind.Actual && !long.TryParse(f[2], out litres))
        {
            reason = $"register_litres: '{f[2]}' is not a whole number of litres";
            return null;
        }
        return new ReadingRow { UserNumber = f[0], ReadOn = f[1], RegisterLitres = litres, Kind = kind.Value };
    }
}
