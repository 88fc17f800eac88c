using Grpc.Core;
using Metering.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli;

/// <summary>Exit codes every command keeps: scripts rely on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Refused = 1;
    public const int Usage = 2;
    public const int Unreachable = 3;
}

/// <summary>A mistake in the command line itself (not the service's answer): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The entry point: parses the arguments, runs one command, maps failures to exit codes.</summary>
public static class Meterctl
{
    // Spectre creates the command objects itself; the console and error writer of this run travel alongside.
    private static readonly AsyncLocal<(IAnsiConsole Console, TextWriter Error)?> Current = new();

    internal static IAnsiConsole Console => Current.Value?.Console ?? AnsiConsole.Console;
    internal static TextWriter Error => Current.Value?.Error ?? System.Console.Error;

    /// <summary>Runs meterctl with these arguments, writing to <paramref name="console"/> (stdout) and <paramref name="error"/> (stderr).</summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter? error = null)
    {
        Current.Value = (console, error ?? System.Console.Error);
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("meterctl");
            config.ConfigureConsole(console);
            config.PropagateExceptions();
            Register(config);
        });
        try
        {
            return await app.RunAsync(args);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            Error.WriteLine($"error: cannot reach the service ({e.StatusCode}): {e.Status.Detail}");
            return ExitCodes.Unreachable;
        }
        catch (RpcException e)
        {
            Error.WriteLine($"refused ({e.StatusCode}): {e.Status.Detail}");
            foreach (var violation in Failures.FieldViolations(e).Where(v => !e.Status.Detail.Contains(v.Description, StringComparison.Ordinal)))
                Error.WriteLine($"  {violation.Field}: {violation.Description}");
            return ExitCodes.Refused;
        }
        catch (DemoRefusedException e)
        {
            Error.WriteLine($"refused: {e.Message}");
            return ExitCodes.Refused;
        }
        catch (Exception e) when (e is UsageException or CommandAppException or FormatException)
        {
            Error.WriteLine($"usage error: {e.Message}");
            Error.WriteLine("Try 'meterctl --help' or 'meterctl <group> <command> --help'.");
            return ExitCodes.Usage;
        }
        catch (HttpRequestException e)
        {
            Error.WriteLine($"error: cannot reach the service: {e.Message}");
            return ExitCodes.Unreachable;
        }
        finally
        {
            Current.Value = null;
        }
    }

    private static void Register(IConfigurator config)
    {
        config.AddBranch<MeterSettings>("community", c =>
        {
            c.SetDescription("Communities in the conversion programme.");
            c.AddCommand<CommunityCreate>("create").WithDescription("Register a community (refused with every reason when not eligible).");
            c.AddCommand<CommunityRisers>("risers").WithDescription("List a community's risers and what blocks them.");
            c.AddCommand<CostReportCommand>("cost-report").WithDescription("Cost shares of a riser, a community or a district.");
            c.AddCommand<CommunityHandover>("handover").WithDescription("Hand a community's user numbers over (manifest CSV written to a file).");
            c.AddCommand<HandoverList>("handovers").WithDescription("List the manifests issued for a community or riser.");
        });
        config.AddBranch<MeterSettings>("riser", c =>
        {
            c.SetDescription("Risers: survey, consent, conversion, cost, handover.");
            c.AddCommand<SurveyImport>("import").WithDescription("Import a survey CSV (streamed, with live progress; refused rows to <file>.errors.csv).");
            c.AddCommand<RiserCreate>("create").WithDescription("Register a riser by hand.");
            c.AddCommand<HouseholdAdd>("add-household").WithDescription("Add one household to a riser.");
            c.AddCommand<RiserShow>("show").WithDescription("A riser: households, consent, blocking units.");
            c.AddCommand<ConsentRecord>("consent").WithDescription("Record a household's signed consent or refusal.");
            c.AddCommand<RiserConvert>("convert").WithDescription("Convert a riser: meters installed, one account per household.");
            c.AddCommand<RiserConvertMany>("convert-many").WithDescription("Convert many risers from a CSV (riser_id,completed_on,unit,meter_serial,initial_register_litres).");
            c.AddCommand<RiserSetCost>("set-cost").WithDescription("Record what the contractor charged for a riser.");
            c.AddCommand<ResidentFee>("resident-fee").WithDescription("Record a household's resident fee payment.");
            c.AddCommand<RiserHandover>("handover").WithDescription("Hand a riser's user numbers over (manifest CSV written to a file).");
            c.AddCommand<HandoverExport>("handover-export").WithDescription("Write an issued manifest's CSV to a file.");
        });
        config.AddBranch<MeterSettings>("account", c =>
        {
            c.SetDescription("Accounts: look-up, holder changes, closing.");
            c.AddCommand<AccountShow>("show").WithDescription("Show an account by user number.");
            c.AddCommand<AccountFind>("find").WithDescription("Find accounts by phone, holder name or address.");
            c.AddCommand<AccountOpen>("open").WithDescription("Open an account by hand (outside a riser conversion).");
            c.AddCommand<AccountChange>("change").WithDescription("Change the holder, phone or registered persons.");
            c.AddCommand<AccountClose>("close").WithDescription("Close an account.");
            c.AddCommand<AccountHistoryCommand>("history").WithDescription("An account's recorded changes.");
        });
        config.AddBranch<MeterSettings>("reading", c =>
        {
            c.SetDescription("Meter readings.");
            c.AddCommand<ReadingRecord>("record").WithDescription("Record a meter reading.");
            c.AddCommand<ReadingEstimate>("estimate").WithDescription("Estimate a reading for a day.");
            c.AddCommand<ReadingImport>("import").WithDescription("Import a route file (streamed, with live counts; problem rows to <file>.errors.csv).");
            c.AddCommand<ReadingList>("list").WithDescription("An account's readings, newest first.");
            c.AddCommand<ReadingHistoryCommand>("history").WithDescription("Readings, meters and corrections of an account.");
            c.AddCommand<ReadingHeld>("held").WithDescription("Readings held for review.");
            c.AddCommand<ReadingRelease>("release").WithDescription("Release a held reading.");
            c.AddCommand<ReadingCorrect>("correct").WithDescription("Correct a reading's register value.");
            c.AddCommand<MeterReplace>("replace-meter").WithDescription("Replace an account's meter.");
        });
        config.AddBranch<MeterSettings>("tariff", c =>
        {
            c.SetDescription("Tariff versions.");
            c.AddCommand<TariffList>("list").WithDescription("All tariff versions.");
            c.AddCommand<TariffShow>("show").WithDescription("The version in force on a day (default today).");
            c.AddCommand<TariffAdd>("add").WithDescription("Add a future version from a JSON file.");
        });
        config.AddBranch<MeterSettings>("billing", c =>
        {
            c.SetDescription("Billing runs, bills, statements.");
            c.AddCommand<BillingTrial>("trial").WithDescription("A trial run: what a run would bill, nothing issued.");
            c.AddCommand<BillingRunCommand>("run").WithDescription("Start a billing run and follow its progress.");
            c.AddCommand<BillingStatus>("status").WithDescription("A run's state (--watch follows it).");
            c.AddCommand<BillingBills>("bills").WithDescription("An account's bills.");
            c.AddCommand<BillingBill>("bill").WithDescription("One bill with its lines.");
            c.AddCommand<BillingStatement>("statement").WithDescription("An account's annual statement.");
            c.AddCommand<BillingUnbilled>("unbilled").WithDescription("Consumption Billing has received and not billed yet.");
        });
        config.AddBranch<MeterSettings>("payment", c =>
        {
            c.SetDescription("Balances and payments.");
            c.AddCommand<PaymentBalance>("balance").WithDescription("What a user number owes.");
            c.AddCommand<PaymentLedger>("ledger").WithDescription("An account's bills and payments.");
            c.AddCommand<PaymentPost>("post").WithDescription("Post a payment (default channel: counter).");
            c.AddCommand<PaymentReverse>("reverse").WithDescription("Reverse a posted payment.");
            c.AddCommand<PaymentReconcile>("reconcile").WithDescription("Reconcile a channel's statement CSV.");
            c.AddCommand<MandateSet>("mandate-set").WithDescription("Register a bank withholding mandate.");
            c.AddCommand<MandateRevoke>("mandate-revoke").WithDescription("Revoke a withholding mandate.");
            c.AddCommand<WithholdingExport>("withholding-export").WithDescription("Export a withholding batch CSV for a bank.");
            c.AddCommand<WithholdingImport>("withholding-import").WithDescription("Import a bank's withholding result CSV.");
        });
        config.AddCommand<DemoCommand>("demo").WithDescription("Run the guided demo against a running standalone host.");
    }
}
