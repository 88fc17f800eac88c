using System.ComponentModel;
using Metering.Contracts.Readings.V1;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli.Commands;

internal static class ReadingView
{
    public static Table List(IEnumerable<Reading> readings)
    {
        var table = Output.Table("reading id", "user number", "read on", "register", "consumption", "kind", "status", "note");
        foreach (var r in readings)
            table.AddRow(Format.Esc(r.ReadingId), Format.Esc(r.UserNumber), r.ReadOn, Format.Volume(r.RegisterLitres), Format.Volume(r.ConsumptionLitres),
                r.Kind.ToString(), r.Status.ToString(), Format.Esc(r.HoldReason + (r.Corrected ? " corrected" : "")));
        return table;
    }

    public static void Recorded(IAnsiConsole console, RecordReadingResponse r) => console.Write(Output.Fields(
        ("reading id", r.ReadingId), ("status", r.Status.ToString()), ("kind", r.Kind.ToString()), ("register", Format.Volume(r.RegisterLitres)),
        ("consumption", Format.Volume(r.ConsumptionLitres)), ("previous", $"{r.PreviousReadOn} {Format.Volume(r.PreviousRegisterLitres)}"), ("hold reason", r.HoldReason)));
}

public sealed class ReadingRecord : MeterCommand<ReadingRecord.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--on <DATE>")] public string? On { get; set; }
        [CommandOption("--litres <LITRES>")] [Description("The register in litres (or use --m3).")] public long? Litres { get; set; }
        [CommandOption("--m3 <M3>")] [Description("The register in m³.")] public string? M3 { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var litres = s.Litres ?? (s.M3 is null ? throw new UsageException("give the register with --litres or --m3") : Format.ParseVolume(s.M3, "--m3"));
        var r = await c.Readings.RecordReadingAsync(new RecordReadingRequest { UserNumber = s.UserNumber, ReadOn = Format.Day(s.On, "--on"), RegisterLitres = litres }, c.Unary(ct));
        return o.Result(r, console => ReadingView.Recorded(console, r));
    }
}

public sealed class ReadingEstimate : MeterCommand<ReadingEstimate.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--on <DATE>")] public string? On { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var r = await c.Readings.EstimateReadingAsync(new EstimateReadingRequest { UserNumber = s.UserNumber, ReadOn = Format.Day(s.On, "--on") }, c.Unary(ct));
        return o.Result(r, console => ReadingView.Recorded(console, r));
    }
}

public sealed class ReadingList : MeterCommand<UserNumberSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, UserNumberSettings s, CancellationToken ct)
    {
        var list = await c.Readings.ListReadingsAsync(new ListReadingsRequest { UserNumber = s.UserNumber }, c.Unary(ct));
        return o.Result(list, console => console.Write(ReadingView.List(list.Readings)));
    }
}

public sealed class ReadingHistoryCommand : MeterCommand<UserNumberSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, UserNumberSettings s, CancellationToken ct)
    {
        var h = await c.Readings.GetReadingHistoryAsync(new GetReadingHistoryRequest { UserNumber = s.UserNumber }, c.Unary(ct));
        return o.Result(h, console =>
        {
            console.Write(Output.Fields(("user number", h.UserNumber), ("status", h.Status), ("closed on", h.ClosedOn),
                ("billed consumption", Format.Volume(h.BilledConsumptionLitres)), ("held consumption", Format.Volume(h.HeldConsumptionLitres))));
            var meters = Output.Table("meter", "capacity", "initial register", "installed on", "removed on");
            foreach (var m in h.Meters)
                meters.AddRow(Format.Esc(m.Serial), Format.Volume(m.CapacityLitres), Format.Volume(m.InitialRegisterLitres), m.InstalledOn, m.RemovedOn);
            console.Write(meters);
            console.Write(ReadingView.List(h.Readings));
            if (h.Corrections.Count > 0)
            {
                var corrections = Output.Table("reading id", "read on", "old register", "new register", "reason", "corrected at");
                foreach (var x in h.Corrections)
                    corrections.AddRow(Format.Esc(x.ReadingId), x.ReadOn, Format.Volume(x.OldRegisterLitres), Format.Volume(x.NewRegisterLitres), Format.Esc(x.Reason), x.CorrectedAt);
                console.Write(corrections);
            }
        });
    }
}

public sealed class ReadingHeld : MeterCommand<ReadingHeld.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandOption("--limit <N>")] public int Limit { get; set; } = 100;
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var held = await c.Readings.ListHeldReadingsAsync(new ListHeldReadingsRequest { Limit = s.Limit }, c.Unary(ct));
        return o.Result(held, console =>
        {
            console.Write(ReadingView.List(held.Readings));
            console.MarkupLine($"{held.Readings.Count} held reading(s)");
        });
    }
}

public class ReadingIdSettings : MeterSettings
{
    [CommandArgument(0, "<READING_ID>")] public string ReadingId { get; set; } = "";
}

public sealed class ReadingRelease : MeterCommand<ReadingRelease.Settings>
{
    public sealed class Settings : ReadingIdSettings
    {
        [CommandOption("--note <TEXT>")] public string Note { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var r = await c.Readings.ReleaseReadingAsync(new ReleaseReadingRequest { ReadingId = s.ReadingId, Note = s.Note }, c.Unary(ct));
        return o.Result(r, console => console.Write(ReadingView.List([r])));
    }
}

public sealed class ReadingCorrect : MeterCommand<ReadingCorrect.Settings>
{
    public sealed class Settings : ReadingIdSettings
    {
        [CommandOption("--litres <LITRES>")] public long Litres { get; set; }
        [CommandOption("--reason <TEXT>")] public string Reason { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var r = await c.Readings.CorrectReadingAsync(new CorrectReadingRequest { ReadingId = s.ReadingId, RegisterLitres = s.Litres, Reason = s.Reason }, c.Unary(ct));
        return o.Result(r, console =>
        {
            console.Write(ReadingView.List([r.Reading]));
            var table = Output.Table("reading id", "old consumption", "new consumption");
            foreach (var change in r.Changes)
                table.AddRow(Format.Esc(change.ReadingId), Format.Volume(change.OldConsumptionLitres), Format.Volume(change.NewConsumptionLitres));
            console.Write(table);
        });
    }
}

public sealed class MeterReplace : MeterCommand<MeterReplace.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--on <DATE>")] public string? On { get; set; }
        [CommandOption("--old-final-litres <LITRES>")] public long OldFinal { get; set; }
        [CommandOption("--new-serial <SERIAL>")] public string NewSerial { get; set; } = "";
        [CommandOption("--new-capacity-litres <LITRES>")] public long NewCapacity { get; set; }
        [CommandOption("--new-initial-litres <LITRES>")] public long NewInitial { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var r = await c.Readings.ReplaceMeterAsync(new ReplaceMeterRequest
        {
            UserNumber = s.UserNumber, ReplacedOn = Format.Day(s.On, "--on"), OldFinalRegisterLitres = s.OldFinal,
            NewMeterSerial = s.NewSerial, NewCapacityLitres = s.NewCapacity, NewInitialRegisterLitres = s.NewInitial,
        }, c.Unary(ct));
        return o.Result(r, console => console.Write(ReadingView.List([r.FinalReading, r.InitialReading])));
    }
}
