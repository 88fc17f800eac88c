using System.ComponentModel;
using Google.Protobuf;
using Metering.Contracts.Billing.V1;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli.Commands;

internal static class TariffView
{
    public static void Render(IAnsiConsole console, TariffVersion v)
    {
        console.MarkupLine($"[bold]{Format.Esc(v.Name)}[/] from {v.EffectiveFrom}" +
                           (v.BaseHouseholdSize > 0 ? $"; +{Format.Volume(v.ExtraLitresPerPerson)} per person above {v.BaseHouseholdSize}" : ""));
        var table = Output.Table("tier", "up to (a year)", "price");
        foreach (var t in v.Tiers)
            table.AddRow(t.Tier.ToString(), t.UpToLitres > 0 ? Format.Volume(t.UpToLitres) : "no limit", Format.Money(t.PriceFenPerM3) + " per m³");
        console.Write(table);
    }
}

public sealed class TariffList : MeterCommand<MeterSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, MeterSettings s, CancellationToken ct)
    {
        var list = await c.Billing.ListTariffVersionsAsync(new ListTariffVersionsRequest(), c.Unary(ct));
        return o.Result(list, console =>
        {
            foreach (var v in list.Versions)
                TariffView.Render(console, v);
        });
    }
}

public sealed class TariffShow : MeterCommand<TariffShow.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandOption("--on <DATE>")] [Description("The day (default today).")] public string? On { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var v = await c.Billing.GetTariffInForceAsync(new GetTariffInForceRequest { On = Format.Day(s.On, "--on", required: false) }, c.Unary(ct));
        return o.Result(v, console => TariffView.Render(console, v));
    }
}

public sealed class TariffAdd : MeterCommand<TariffAdd.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandArgument(0, "<FILE>")] [Description("JSON {\"version\": {...}} as docs/samples/billing-tariff-version.json.")] public string File { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        if (!File.Exists(s.File))
            throw new UsageException($"<FILE>: '{s.File}' not found");
        CreateTariffVersionRequest request;
        try
        {
            request = JsonParser.Default.Parse<CreateTariffVersionRequest>(await File.ReadAllTextAsync(s.File, ct));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new UsageException($"<FILE>: not a tariff version ({e.Message})");
        }
        var v = await c.Billing.CreateTariffVersionAsync(request, c.Unary(ct));
        return o.Result(v, console => TariffView.Render(console, v));
    }
}
