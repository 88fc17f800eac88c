using System.ComponentModel;
using System.Text;
using Grpc.Core;
using Metering.Contracts.Accounts.V1;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli.Commands;

public sealed class CommunityCreate : MeterCommand<CommunityCreate.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<NAME>")] public string Name { get; set; } = "";
        [CommandOption("--district <NAME>")] public string District { get; set; } = "";
        [CommandOption("--subdistrict <NAME>")] public string Subdistrict { get; set; } = "";
        [CommandOption("--completed-on <DATE>")] public string? CompletedOn { get; set; }
        [CommandOption("--land <TENURE>")] [Description("STATE_OWNED or COLLECTIVE.")] public LandTenure Land { get; set; } = LandTenure.StateOwned;
        [CommandOption("--settlement <KIND>")] [Description("CITY, COUNTY_TOWN, TOWNSHIP or VILLAGE.")] public Settlement Settlement { get; set; } = Settlement.City;
        [CommandOption("--slated-for-demolition")] public bool Demolition { get; set; }
        [CommandOption("--shanty-town")] public bool ShantyTown { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var community = await c.Accounts.CreateCommunityAsync(new CreateCommunityRequest
        {
            Name = s.Name, District = s.District, Subdistrict = s.Subdistrict, CompletedOn = Format.Day(s.CompletedOn, "--completed-on"),
            Land = s.Land, Settlement = s.Settlement, SlatedForDemolition = s.Demolition, ShantyTownRedevelopment = s.ShantyTown,
        }, c.Unary(ct));
        return o.Result(community, console => console.Write(Output.Fields(("community id", community.CommunityId.ToString()),
            ("name", community.Name), ("district", community.District), ("subdistrict", community.Subdistrict), ("completed on", community.CompletedOn))));
    }
}

public class CommunityIdSettings : MeterSettings
{
    [CommandArgument(0, "<COMMUNITY_ID>")] public long CommunityId { get; set; }
}

public class RiserIdSettings : MeterSettings
{
    [CommandArgument(0, "<RISER_ID>")] public long RiserId { get; set; }
}

internal static class RiserView
{
    public static Table List(IEnumerable<RiserDetail> risers)
    {
        var table = Output.Table("riser id", "building", "riser", "status", "households", "blocking");
        foreach (var r in risers)
            table.AddRow(r.RiserId.ToString(), Format.Esc(r.Building), Format.Esc(r.Riser), r.Status.ToString(), r.Households.Count.ToString(),
                Format.Esc(string.Join(", ", r.BlockingUnits)));
        return table;
    }

    public static void Render(IAnsiConsole console, RiserDetail r)
    {
        console.Write(Output.Fields(("riser id", r.RiserId.ToString()), ("community id", r.CommunityId.ToString()), ("building", r.Building),
            ("riser", r.Riser), ("status", r.Status.ToString()), ("completed on", r.CompletedOn),
            ("actual cost", r.HasActualCost ? Format.Money(r.ActualCostFen) : "not recorded"), ("blocking", string.Join(", ", r.BlockingUnits))));
        console.Write(Households(r.Households));
    }

    public static Table Households(IEnumerable<Household> households)
    {
        var table = Output.Table("household id", "unit", "holder", "phone", "persons", "consent", "signed", "user number");
        foreach (var h in households)
            table.AddRow(h.HouseholdId.ToString(), Format.Esc(h.Unit), Format.Esc(h.HolderName), Format.Esc(h.Phone), h.Persons.ToString(),
                h.Consent.ToString(), Format.Esc($"{h.ConsentSignedBy} {h.ConsentSignedOn}".Trim()), Format.Esc(h.UserNumber));
        return table;
    }
}

public sealed class CommunityRisers : MeterCommand<CommunityIdSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, CommunityIdSettings s, CancellationToken ct)
    {
        var risers = await c.Accounts.ListRisersAsync(new ListRisersRequest { CommunityId = s.CommunityId }, c.Unary(ct));
        return o.Result(risers, console => console.Write(RiserView.List(risers.Risers)));
    }
}

public sealed class CostReportCommand : MeterCommand<CostReportCommand.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandOption("--riser <ID>")] public long Riser { get; set; }
        [CommandOption("--community <ID>")] public long Community { get; set; }
        [CommandOption("--district <NAME>")] public string? District { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var report = await c.Accounts.GetCostReportAsync(new GetCostReportRequest { RiserId = s.Riser, CommunityId = s.Community, District = s.District ?? "" }, c.Unary(ct));
        return o.Result(report, console =>
        {
            console.MarkupLine($"[bold]{Format.Esc(report.Scope)}[/]");
            var table = Output.Table("scope", "converted", "cost pending", "actual cost", "resident", "finance", "utility", "collected", "outstanding");
            void Row(string label, CostTotals t) => table.AddRow(Format.Esc(label), t.HouseholdsConverted.ToString(), t.HouseholdsCostPending.ToString(),
                Format.Money(t.ActualCostFen), Format.Money(t.ResidentFen), Format.Money(t.FinanceFen), Format.Money(t.UtilityFen),
                Format.Money(t.ResidentCollectedFen), Format.Money(t.ResidentOutstandingFen));
            foreach (var row in report.Rows)
                Row(row.Label, row.Totals);
            Row("total", report.Totals ?? new CostTotals());
            console.Write(table);
        });
    }
}

public class HandoverSettings : MeterSettings
{
    [CommandArgument(0, "<ID>")] [Description("The community id (community handover) or riser id (riser handover).")] public long Id { get; set; }
    [CommandOption("--recipient <NAME>")] public string Recipient { get; set; } = "";
    [CommandOption("--on <DATE>")] public string? On { get; set; }
    [CommandOption("--out <FILE>")] [Description("Where to write the manifest CSV (default handover-<manifest>.csv).")] public string? Out { get; set; }
}

/// <summary>`community handover` and `riser handover`: the same call, scoped by a community or a riser.</summary>
public abstract class HandoverIssue : MeterCommand<HandoverSettings>
{
    protected abstract bool ForRiser { get; }

    protected override async Task<int> RunAsync(Connection c, Output o, HandoverSettings s, CancellationToken ct)
    {
        var request = new IssueHandoverRequest { Recipient = s.Recipient, HandedOverOn = Format.Day(s.On, "--on") };
        if (ForRiser) request.RiserId = s.Id; else request.CommunityId = s.Id;
        var manifest = await c.Accounts.IssueHandoverAsync(request, c.Unary(ct));
        var file = s.Out ?? $"handover-{manifest.ManifestId}.csv";
        await File.WriteAllBytesAsync(file, manifest.Csv.ToByteArray(), ct);
        return o.Result(manifest, console => Handovers.Render(console, manifest, file));
    }
}

public sealed class CommunityHandover : HandoverIssue
{
    protected override bool ForRiser => false;
}

public sealed class RiserHandover : HandoverIssue
{
    protected override bool ForRiser => true;
}

internal static class Handovers
{
    public static void Render(IAnsiConsole console, HandoverManifest m, string? file)
    {
        console.Write(Output.Fields(("manifest", m.ManifestId), ("scope", $"{m.Scope} {m.ScopeId}"), ("recipient", m.Recipient),
            ("handed over on", m.HandedOverOn), ("accounts", m.AccountCount.ToString())));
        var table = Output.Table("user number", "holder", "address", "phone");
        foreach (var line in m.Lines)
            table.AddRow(Format.Esc(line.UserNumber), Format.Esc(line.HolderName), Format.Esc(line.Address), Format.Esc(line.Phone));
        console.Write(table);
        if (file is not null)
            console.MarkupLine($"manifest CSV written to [green]{Format.Esc(file)}[/]");
    }
}

public sealed class HandoverList : MeterCommand<HandoverList.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandOption("--riser <ID>")] public long Riser { get; set; }
        [CommandOption("--community <ID>")] public long Community { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var list = await c.Accounts.ListHandoversAsync(new ListHandoversRequest { RiserId = s.Riser, CommunityId = s.Community }, c.Unary(ct));
        return o.Result(list, console =>
        {
            var table = Output.Table("manifest", "scope", "recipient", "handed over on", "accounts");
            foreach (var m in list.Manifests)
                table.AddRow(Format.Esc(m.ManifestId), $"{m.Scope} {m.ScopeId}", Format.Esc(m.Recipient), m.HandedOverOn, m.AccountCount.ToString());
            console.Write(table);
        });
    }
}

public sealed class HandoverExport : MeterCommand<HandoverExport.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<MANIFEST_ID>")] public string ManifestId { get; set; } = "";
        [CommandOption("--out <FILE>")] public string? Out { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var manifest = await c.Accounts.GetHandoverAsync(new GetHandoverRequest { ManifestId = s.ManifestId }, c.Unary(ct));
        var file = s.Out ?? $"handover-{manifest.ManifestId}.csv";
        await File.WriteAllBytesAsync(file, manifest.Csv.ToByteArray(), ct);
        return o.Result(manifest, console => Handovers.Render(console, manifest, file));
    }
}

public sealed class RiserCreate : MeterCommand<RiserCreate.Settings>
{
    public sealed class Settings : CommunityIdSettings
    {
        [CommandOption("--building <NAME>")] public string Building { get; set; } = "";
        [CommandOption("--riser <NAME>")] public string Riser { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var riser = await c.Accounts.CreateRiserAsync(new CreateRiserRequest { CommunityId = s.CommunityId, Building = s.Building, Riser = s.Riser }, c.Unary(ct));
        return o.Result(riser, console => console.Write(Output.Fields(("riser id", riser.RiserId.ToString()), ("building", riser.Building), ("riser", riser.Riser_))));
    }
}

public sealed class HouseholdAdd : MeterCommand<HouseholdAdd.Settings>
{
    public sealed class Settings : RiserIdSettings
    {
        [CommandOption("--unit <UNIT>")] public string Unit { get; set; } = "";
        [CommandOption("--holder <NAME>")] public string Holder { get; set; } = "";
        [CommandOption("--phone <PHONE>")] public string Phone { get; set; } = "";
        [CommandOption("--persons <N>")] public int Persons { get; set; } = 1;
        [CommandOption("--kind <KIND>")] [Description("RESIDENTIAL (default), FIRE, GATEHOUSE, GREENING, SHOP, SINGLE_STOREY_HOUSE.")] public SupplyPointKind Kind { get; set; } = SupplyPointKind.Residential;
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var household = await c.Accounts.AddHouseholdAsync(new AddHouseholdRequest
        {
            RiserId = s.RiserId, Unit = s.Unit, HolderName = s.Holder, Phone = s.Phone, Persons = s.Persons, Kind = s.Kind,
        }, c.Unary(ct));
        return o.Result(household, console => console.Write(RiserView.Households([household])));
    }
}

public sealed class RiserShow : MeterCommand<RiserIdSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, RiserIdSettings s, CancellationToken ct)
    {
        var riser = await c.Accounts.GetRiserAsync(new GetRiserRequest { RiserId = s.RiserId }, c.Unary(ct));
        return o.Result(riser, console => RiserView.Render(console, riser));
    }
}

public sealed class ConsentRecord : MeterCommand<ConsentRecord.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<HOUSEHOLD_ID>")] public long HouseholdId { get; set; }
        [CommandOption("--riser <ID>")] [Description("The riser of the consent sheet.")] public long Riser { get; set; }
        [CommandOption("--refused")] [Description("Record a refusal instead of consent.")] public bool Refused { get; set; }
        [CommandOption("--signed-by <NAME>")] public string SignedBy { get; set; } = "";
        [CommandOption("--signed-on <DATE>")] public string? SignedOn { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var household = await c.Accounts.RecordConsentAsync(new RecordConsentRequest
        {
            HouseholdId = s.HouseholdId, RiserId = s.Riser, Decision = s.Refused ? ConsentDecision.Refused : ConsentDecision.Consented,
            SignedBy = s.SignedBy, SignedOn = Format.Day(s.SignedOn, "--signed-on"),
        }, c.Unary(ct));
        return o.Result(household, console => console.Write(RiserView.Households([household])));
    }
}

internal static class Meters
{
    /// <summary>`unit=serial` or `unit=serial:initial_litres`, as typed on the command line.</summary>
    public static InstalledMeter Parse(string text)
    {
        var eq = text.IndexOf('=');
        if (eq <= 0)
            throw new UsageException($"--meter: '{text}' is not unit=serial[:initial_litres]");
        var unit = text[..eq];
        var rest = text[(eq + 1)..].Split(':');
        long litres = 0;
        if (rest[0].Length == 0 || (rest.Length > 1 && !long.TryParse(rest[1], out litres)) || rest.Length > 2)
            throw new UsageException($"--meter: '{text}' is not unit=serial[:initial_litres]");
        return new InstalledMeter { Unit = unit, MeterSerial = rest[0], InitialRegisterLitres = litres };
    }
}

public sealed class RiserConvert : MeterCommand<RiserConvert.Settings>
{
    public sealed class Settings : RiserIdSettings
    {
        [CommandOption("--completed-on <DATE>")] public string? CompletedOn { get; set; }
        [CommandOption("--meter <UNIT=SERIAL[:LITRES]>")] [Description("A meter installed, once per unit.")] public string[] Meters { get; set; } = [];
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var request = new ConvertRiserRequest { RiserId = s.RiserId, CompletedOn = Format.Day(s.CompletedOn, "--completed-on") };
        request.Meters.AddRange(s.Meters.Select(Meters.Parse));
        var converted = await c.Accounts.ConvertRiserAsync(request, c.Unary(ct));
        return o.Result(converted, console =>
        {
            console.MarkupLine($"riser {converted.RiserId} converted on {converted.CompletedOn}: {converted.Accounts.Count} account(s) opened");
            console.Write(AccountView.List(converted.Accounts));
        });
    }
}

public sealed class RiserConvertMany : MeterCommand<RiserConvertMany.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<FILE>")] [Description("CSV: riser_id,completed_on,unit,meter_serial,initial_register_litres (one line per meter).")] public string File { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        if (!File.Exists(s.File))
            throw new UsageException($"<FILE>: '{s.File}' not found");
        var requests = new List<ConvertRiserRequest>();
        foreach (var (line, number) in File.ReadAllLines(s.File, Encoding.UTF8).Select((l, i) => (l.Trim(), i + 1)).Skip(1).Where(x => x.Item1.Length > 0))
        {
            var f = line.Split(',');
            if (f.Length != 5 || !long.TryParse(f[0], out var riser) || !long.TryParse(f[4], out var litres))
                throw new UsageException($"{s.File} line {number}: expected riser_id,completed_on,unit,meter_serial,initial_register_litres");
            var request = requests.LastOrDefault(r => r.RiserId == riser);
            if (request is null)
                requests.Add(request = new ConvertRiserRequest { RiserId = riser, CompletedOn = Format.Day(f[1], $"line {number} completed_on") });
            request.Meters.Add(new InstalledMeter { Unit = f[2], MeterSerial = f[3], InitialRegisterLitres = litres });
        }
        using var call = c.Accounts.ConvertRisers(c.Streaming(ct));
        foreach (var request in requests)
            await call.RequestStream.WriteAsync(request, ct);
        await call.RequestStream.CompleteAsync();
        var result = await call.ResponseAsync;
        return o.Result(result, console =>
        {
            var table = Output.Table("riser id", "converted", "reason", "user numbers");
            foreach (var r in result.Results)
                table.AddRow(r.RiserId.ToString(), r.Converted ? "yes" : "[red]no[/]", Format.Esc(r.Reason), Format.Esc(string.Join(" ", r.UserNumbers)));
            console.Write(table);
            console.MarkupLine($"{result.RisersConverted} converted, {result.RisersRefused} refused, {result.AccountsOpened} account(s) opened");
        });
    }
}

public sealed class RiserSetCost : MeterCommand<RiserSetCost.Settings>
{
    public sealed class Settings : RiserIdSettings
    {
        [CommandOption("--amount <CNY>")] public string Amount { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var riser = await c.Accounts.SetRiserCostAsync(new SetRiserCostRequest { RiserId = s.RiserId, ActualCostFen = Format.ParseMoney(s.Amount, "--amount") }, c.Unary(ct));
        return o.Result(riser, console => RiserView.Render(console, riser));
    }
}

public sealed class ResidentFee : MeterCommand<ResidentFee.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<HOUSEHOLD_ID>")] public long HouseholdId { get; set; }
        [CommandOption("--amount <CNY>")] public string Amount { get; set; } = "";
        [CommandOption("--paid-on <DATE>")] public string? PaidOn { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var household = await c.Accounts.RecordResidentFeeAsync(new RecordResidentFeeRequest
        {
            HouseholdId = s.HouseholdId, AmountFen = Format.ParseMoney(s.Amount, "--amount"), PaidOn = Format.Day(s.PaidOn, "--paid-on"),
        }, c.Unary(ct));
        return o.Result(household, console => console.Write(RiserView.Households([household])));
    }
}
