using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Payments.V1;
using Metering.Contracts.Readings.V1;

namespace Metering.Cli;

/// <summary>
/// Where each service is and which key to send, resolved flag → environment variable → config
/// file → default. One endpoint serves all four services (standalone); a per-service endpoint wins.
/// </summary>
public sealed class Connection : IDisposable
{
    public const string DefaultEndpoint = "http://localhost:5081";
    public const string DefaultApiKey = "dev-operator.operator-dev-secret";

    private readonly Dictionary<string, GrpcChannel> _channels = new();
    private readonly TimeSpan _timeout;

    public Connection(MeterSettings settings)
    {
        var file = ReadConfig(settings.ConfigFile);
        string Pick(string? flag, string env, string key, string fallback) =>
            First(flag, Environment.GetEnvironmentVariable(env), file.GetValueOrDefault(key)) ?? fallback;

        var common = Pick(settings.Endpoint, "METERCTL_ENDPOINT", "endpoint", DefaultEndpoint);
        AccountsEndpoint = Pick(settings.AccountsEndpoint, "METERCTL_ACCOUNTS_ENDPOINT", "accountsEndpoint", common);
        ReadingsEndpoint = Pick(settings.ReadingsEndpoint, "METERCTL_READINGS_ENDPOINT", "readingsEndpoint", common);
        BillingEndpoint = Pick(settings.BillingEndpoint, "METERCTL_BILLING_ENDPOINT", "billingEndpoint", common);
        PaymentsEndpoint = Pick(settings.PaymentsEndpoint, "METERCTL_PAYMENTS_ENDPOINT", "paymentsEndpoint", common);
        ApiKey = Pick(settings.ApiKey, "METERCTL_API_KEY", "apiKey", DefaultApiKey);
        var timeout = settings.TimeoutSeconds ?? (int.TryParse(file.GetValueOrDefault("timeoutSeconds"), out var t) ? t : 30);
        if (timeout <= 0)
            throw new UsageException("--timeout: must be a positive number of seconds");
        _timeout = TimeSpan.FromSeconds(timeout);
        foreach (var url in new[] { AccountsEndpoint, ReadingsEndpoint, BillingEndpoint, PaymentsEndpoint })
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                throw new UsageException($"endpoint '{url}': must be an http:// or https:// URL");
    }

    public string AccountsEndpoint { get; }
    public string ReadingsEndpoint { get; }
    public string BillingEndpoint { get; }
    public string PaymentsEndpoint { get; }
    public string ApiKey { get; }

    public Accounts.AccountsClient Accounts => new(Channel(AccountsEndpoint));
    public Readings.ReadingsClient Readings => new(Channel(ReadingsEndpoint));
    public Billing.BillingClient Billing => new(Channel(BillingEndpoint));
    public Payments.PaymentsClient Payments => new(Channel(PaymentsEndpoint));

    /// <summary>Options of a unary call: the key (another one when given) and the deadline.</summary>
    public CallOptions Unary(CancellationToken ct, string? apiKey = null) =>
        new(new Metadata { { "x-api-key", apiKey ?? ApiKey } }, DateTime.UtcNow + _timeout, ct);

    /// <summary>Options of a stream: no deadline (a run or an import takes as long as it takes).</summary>
    public CallOptions Streaming(CancellationToken ct) => new(new Metadata { { "x-api-key", ApiKey } }, null, ct);

    private GrpcChannel Channel(string url)
    {
        if (!_channels.TryGetValue(url, out var channel))
        {
            // Fail fast when nothing listens: a refused connection is exit code 3, not a long wait.
            var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5), EnableMultipleHttp2Connections = true };
            channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = 64 * 1024 * 1024 });
            _channels[url] = channel;
        }
        return channel;
    }

    private static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    private static Dictionary<string, string> ReadConfig(string? explicitPath)
    {
        var path = explicitPath ?? Path.Combine(
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "meterctl", "config.json");
        if (!File.Exists(path))
        {
            if (explicitPath is not null)
                throw new UsageException($"--config: file '{explicitPath}' not found");
            return new();
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        }
        catch (JsonException e)
        {
            throw new UsageException($"config file '{path}': not valid JSON ({e.Message})");
        }
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
            channel.Dispose();
    }
}
