using System.Text;
using Metering.Cli;
using Metering.Hosting;
using Metering.Standalone;
using Metering.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Spectre.Console;

namespace Metering.Cli.Tests;

/// <summary>
/// The standalone host (all four services) on Kestrel with a free port, SQLite files in a fresh temp
/// folder and the development keys on, as an operator's machine runs it; meterctl talks to it over HTTP/2.
/// </summary>
public sealed class StandaloneHostFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "meterctl-tests", Guid.NewGuid().ToString("N"));
    public string Endpoint { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDirectory);
        // A port another program takes between our choice and the bind is chosen again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOn(TestPorts.Next(), TestPorts.Next());
                return;
            }
            catch (IOException ex) when (attempt < 3 && TestPorts.IsAddressInUse(ex))
            {
                if (_app is not null)
                    await _app.DisposeAsync();
                _app = null;
            }
        }
    }

    private async Task StartOn(int grpcPort, int httpPort)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["Bus:Transport"] = "InMemory",
            ["ConnectionStrings:Accounts"] = $"Data Source={Path.Combine(DataDirectory, "accounts.db")}",
            ["ConnectionStrings:Readings"] = $"Data Source={Path.Combine(DataDirectory, "readings.db")}",
            ["ConnectionStrings:Billing"] = $"Data Source={Path.Combine(DataDirectory, "billing.db")}",
            ["ConnectionStrings:Payments"] = $"Data Source={Path.Combine(DataDirectory, "payments.db")}",
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            ["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{httpPort}",
            ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Security:DevelopmentKeys"] = "true",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddMetering(StandaloneHost.Modules());
        _app = builder.Build();
        _app.MapMetering();
        await _app.StartAsync();
        Endpoint = $"http://127.0.0.1:{grpcPort}";
    }

    /// <summary>Runs meterctl against this host; the output is captured as plain text.</summary>
    public Task<CliResult> Run(params string[] args) => RunAgainst(Endpoint, args);

    public static async Task<CliResult> RunAgainst(string? endpoint, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 240;
        var all = endpoint is null ? args : [.. args, "--endpoint", endpoint];
        var exit = await Meterctl.RunAsync(all, console, error);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}

public sealed record CliResult(int Exit, string Out, string Error)
{
    public override string ToString() => $"exit {Exit}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}
