using System.ComponentModel;
using Spectre.Console.Cli;

namespace Metering.Cli;

/// <summary>Options every command takes: where the services are, which key, and the output form.</summary>
public class MeterSettings : CommandSettings
{
    [CommandOption("--endpoint <URL>")]
    [Description("gRPC endpoint of the standalone host (default http://localhost:5081); env METERCTL_ENDPOINT.")]
    public string? Endpoint { get; set; }

    [CommandOption("--accounts-endpoint <URL>")]
    [Description("Accounts service endpoint (distributed mode); env METERCTL_ACCOUNTS_ENDPOINT.")]
    public string? AccountsEndpoint { get; set; }

    [CommandOption("--readings-endpoint <URL>")]
    [Description("Readings service endpoint; env METERCTL_READINGS_ENDPOINT.")]
    public string? ReadingsEndpoint { get; set; }

    [CommandOption("--billing-endpoint <URL>")]
    [Description("Billing service endpoint; env METERCTL_BILLING_ENDPOINT.")]
    public string? BillingEndpoint { get; set; }

    [CommandOption("--payments-endpoint <URL>")]
    [Description("Payments service endpoint; env METERCTL_PAYMENTS_ENDPOINT.")]
    public string? PaymentsEndpoint { get; set; }

    [CommandOption("--api-key <KEY>")]
    [Description("API key keyId.secret sent as x-api-key; env METERCTL_API_KEY (default: the operator's development key).")]
    public string? ApiKey { get; set; }

    [CommandOption("--config <FILE>")]
    [Description("Configuration file (default ~/.config/meterctl/config.json).")]
    public string? ConfigFile { get; set; }

    [CommandOption("--timeout <SECONDS>")]
    [Description("Deadline of each call in seconds (default 30).")]
    public int? TimeoutSeconds { get; set; }

    [CommandOption("--json")]
    [Description("Write one JSON document to stdout instead of tables.")]
    public bool Json { get; set; }
}
