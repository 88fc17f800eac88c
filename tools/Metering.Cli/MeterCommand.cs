using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli;

/// <summary>A command: gets its connection and output, does one thing, returns the exit code.</summary>
public abstract class MeterCommand<T> : AsyncCommand<T> where T : MeterSettings
{
    public override async Task<int> ExecuteAsync(CommandContext context, T settings, CancellationToken cancellationToken)
    {
        using var connection = new Connection(settings);
        return await RunAsync(connection, new Output(Meterctl.Console, settings.Json), settings, cancellationToken);
    }

    protected abstract Task<int> RunAsync(Connection connection, Output output, T settings, CancellationToken ct);
}

/// <summary>Tables for people, or exactly one JSON document on stdout for scripts.</summary>
public sealed class Output(IAnsiConsole console, bool json)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public IAnsiConsole Console { get; } = console;
    public bool Json { get; } = json;

    /// <summary>Text for people only (progress notes, headings); nothing in JSON mode.</summary>
    public void Say(string markup)
    {
        if (!Json)
            Console.MarkupLine(markup);
    }

    public int Result(IMessage message, Action<IAnsiConsole> render) => Result(Format.ToNode(message), render);

    public int Result(JsonNode node, Action<IAnsiConsole> render)
    {
        if (Json)
            Console.Profile.Out.Writer.WriteLine(node.ToJsonString(Indented));
        else
            render(Console);
        return ExitCodes.Ok;
    }

    public static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
            table.AddColumn(new TableColumn(column));
        return table;
    }

    /// <summary>A two-column table of field → value.</summary>
    public static Table Fields(params (string Field, string Value)[] rows)
    {
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("field").AddColumn("value");
        foreach (var (field, value) in rows)
            table.AddRow(new Markup($"[grey]{Format.Esc(field)}[/]"), new Text(value ?? ""));
        return table;
    }
}
