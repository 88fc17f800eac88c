using System.ComponentModel;
using Metering.Contracts.Accounts.V1;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Metering.Cli.Commands;

public class UserNumberSettings : MeterSettings
{
    [CommandArgument(0, "<USER_NUMBER>")]
    [Description("The account's user number.")]
    public string UserNumber { get; set; } = "";
}

internal static class AccountView
{
    public static Table Render(Account a) => Output.Fields(
        ("user number", a.UserNumber), ("holder", a.HolderName), ("address", a.Address), ("phone", a.Phone),
        ("persons", a.Persons.ToString()), ("meter", a.MeterSerial), ("initial register", Format.Volume(a.InitialRegisterLitres)),
        ("opened on", a.OpenedOn), ("status", a.Status.ToString()), ("closed on", a.ClosedOn));

    public static Table List(IEnumerable<Account> accounts)
    {
        var table = Output.Table("user number", "holder", "address", "phone", "persons", "status");
        foreach (var a in accounts)
            table.AddRow(Format.Esc(a.UserNumber), Format.Esc(a.HolderName), Format.Esc(a.Address), Format.Esc(a.Phone), a.Persons.ToString(), a.Status.ToString());
        return table;
    }
}

public sealed class AccountShow : MeterCommand<UserNumberSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, UserNumberSettings s, CancellationToken ct)
    {
        var account = await c.Accounts.GetAccountAsync(new GetAccountRequest { UserNumber = s.UserNumber }, c.Unary(ct));
        return o.Result(account, console => console.Write(AccountView.Render(account)));
    }
}

public sealed class AccountFind : MeterCommand<AccountFind.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandOption("--phone <PHONE>")] public string? Phone { get; set; }
        [CommandOption("--name <NAME>")] [Description("Holder name.")] public string? Name { get; set; }
        [CommandOption("--address <TEXT>")] public string? Address { get; set; }
        [CommandOption("--page-size <N>")] public int PageSize { get; set; }
        [CommandOption("--page-token <TOKEN>")] public string? PageToken { get; set; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Phone) && string.IsNullOrEmpty(Name) && string.IsNullOrEmpty(Address)
                ? ValidationResult.Error("give at least one of --phone, --name, --address")
                : ValidationResult.Success();
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var found = await c.Accounts.SearchAccountsAsync(new SearchAccountsRequest
        {
            Phone = s.Phone ?? "", HolderName = s.Name ?? "", Address = s.Address ?? "", PageSize = s.PageSize, PageToken = s.PageToken ?? "",
        }, c.Unary(ct));
        return o.Result(found, console =>
        {
            console.Write(AccountView.List(found.Accounts));
            console.MarkupLine($"{found.Accounts.Count} account(s)" + (found.NextPageToken.Length > 0 ? $"; more with --page-token {Format.Esc(found.NextPageToken)}" : ""));
        });
    }
}

public sealed class AccountOpen : MeterCommand<AccountOpen.Settings>
{
    public sealed class Settings : MeterSettings
    {
        [CommandOption("--holder <NAME>")] public string Holder { get; set; } = "";
        [CommandOption("--address <TEXT>")] public string Address { get; set; } = "";
        [CommandOption("--phone <PHONE>")] public string Phone { get; set; } = "";
        [CommandOption("--persons <N>")] public int Persons { get; set; } = 1;
        [CommandOption("--meter <SERIAL>")] public string Meter { get; set; } = "";
        [CommandOption("--initial-litres <LITRES>")] public long InitialLitres { get; set; }
        [CommandOption("--opened-on <DATE>")] public string? OpenedOn { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var account = await c.Accounts.OpenAccountAsync(new OpenAccountRequest
        {
            HolderName = s.Holder, Address = s.Address, Phone = s.Phone, Persons = s.Persons, MeterSerial = s.Meter,
            InitialRegisterLitres = s.InitialLitres, OpenedOn = Format.Day(s.OpenedOn, "--opened-on"),
        }, c.Unary(ct));
        return o.Result(account, console => console.Write(AccountView.Render(account)));
    }
}

public sealed class AccountChange : MeterCommand<AccountChange.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--holder <NAME>")] public string? Holder { get; set; }
        [CommandOption("--phone <PHONE>")] public string? Phone { get; set; }
        [CommandOption("--persons <N>")] public int? Persons { get; set; }
        [CommandOption("--effective-on <DATE>")] public string? EffectiveOn { get; set; }
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var request = new ChangeAccountDetailsRequest { UserNumber = s.UserNumber, EffectiveOn = Format.Day(s.EffectiveOn, "--effective-on") };
        if (s.Holder is not null) request.HolderName = s.Holder;
        if (s.Phone is not null) request.Phone = s.Phone;
        if (s.Persons is not null) request.Persons = s.Persons.Value;
        var account = await c.Accounts.ChangeAccountDetailsAsync(request, c.Unary(ct));
        return o.Result(account, console => console.Write(AccountView.Render(account)));
    }
}

public sealed class AccountClose : MeterCommand<AccountClose.Settings>
{
    public sealed class Settings : UserNumberSettings
    {
        [CommandOption("--closed-on <DATE>")] public string? ClosedOn { get; set; }
        [CommandOption("--reason <TEXT>")] public string Reason { get; set; } = "";
    }

    protected override async Task<int> RunAsync(Connection c, Output o, Settings s, CancellationToken ct)
    {
        var account = await c.Accounts.CloseAccountAsync(new CloseAccountRequest
        {
            UserNumber = s.UserNumber, ClosedOn = Format.Day(s.ClosedOn, "--closed-on"), Reason = s.Reason,
        }, c.Unary(ct));
        return o.Result(account, console => console.Write(AccountView.Render(account)));
    }
}

public sealed class AccountHistoryCommand : MeterCommand<UserNumberSettings>
{
    protected override async Task<int> RunAsync(Connection c, Output o, UserNumberSettings s, CancellationToken ct)
    {
        var history = await c.Accounts.GetAccountHistoryAsync(new GetAccountHistoryRequest { UserNumber = s.UserNumber }, c.Unary(ct));
        return o.Result(history, console =>
        {
            var table = Output.Table("kind", "effective on", "before", "after", "recorded at");
            foreach (var change in history.Changes)
                table.AddRow(Format.Esc(change.Kind), change.EffectiveOn, Format.Esc(change.Before), Format.Esc(change.After), change.RecordedAt);
            console.Write(table);
        });
    }
}
