using System.Text;
using Metering.Cli;
using Spectre.Console;

// Holder names and addresses are Chinese: write UTF-8 whatever the terminal's default.
Console.OutputEncoding = Encoding.UTF8;
return await Meterctl.RunAsync(args, AnsiConsole.Console, Console.Error);
