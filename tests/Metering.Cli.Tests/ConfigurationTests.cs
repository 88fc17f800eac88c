using Metering.Cli;

namespace Metering.Cli.Tests;

/// <summary>Where meterctl finds the services: flag, config file, one endpoint or one per service.</summary>
public sealed class ConfigurationTests(StandaloneHostFixture host) : IClassFixture<StandaloneHostFixture>
{
    [Fact]
    public async Task A_config_file_names_the_services_and_the_key()
    {
        var file = Path.Combine(host.DataDirectory, "meterctl.json");
        await File.WriteAllTextAsync(file, $$"""{ "endpoint": "{{host.Endpoint}}", "apiKey": "dev-operator.operator-dev-secret" }""");
        var result = await StandaloneHostFixture.RunAgainst(null, "tariff", "show", "--config", file);
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("3.32 CNY per m³", result.Out);
    }

    [Fact]
    public async Task A_per_service_endpoint_wins_over_the_common_one()
    {
        // The common endpoint is dead; Billing's own endpoint is the live host: the call goes there.
        var result = await StandaloneHostFixture.RunAgainst("http://127.0.0.1:1", "tariff", "list", "--billing-endpoint", host.Endpoint, "--json");
        Assert.True(result.Exit == 0, result.ToString());
        var other = await StandaloneHostFixture.RunAgainst("http://127.0.0.1:1", "account", "show", "1000000016", "--billing-endpoint", host.Endpoint);
        Assert.Equal(ExitCodes.Unreachable, other.Exit);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_and_a_missing_config_file_is_a_usage_error()
    {
        var refused = await host.Run("tariff", "list", "--api-key", "dev-operator.wrong-secret");
        Assert.True(refused.Exit == ExitCodes.Refused, refused.ToString());
        Assert.Contains("Unauthenticated", refused.Error);

        var missing = await host.Run("tariff", "list", "--config", Path.Combine(host.DataDirectory, "nowhere.json"));
        Assert.Equal(ExitCodes.Usage, missing.Exit);
        Assert.Contains("--config", missing.Error);
    }
}
