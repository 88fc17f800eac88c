using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Microsoft.Extensions.Configuration;

namespace Metering.Platform.Tests;

public sealed class ConfigurationSwitchTests
{
    private static IConfiguration Config(string key, string? value) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

    [Theory]
    [InlineData(null, DatabaseProvider.Sqlite)]
    [InlineData("", DatabaseProvider.Sqlite)]
    [InlineData("  ", DatabaseProvider.Sqlite)]
    [InlineData("Sqlite", DatabaseProvider.Sqlite)]
    [InlineData("sqlite", DatabaseProvider.Sqlite)]
    [InlineData("SQLITE", DatabaseProvider.Sqlite)]
    [InlineData("SqlServer", DatabaseProvider.SqlServer)]
    [InlineData("sqlserver", DatabaseProvider.SqlServer)]
    [InlineData("SQLSERVER", DatabaseProvider.SqlServer)]
    public void Database_provider_comes_from_configuration_defaults_to_Sqlite_and_ignores_case(string? value, DatabaseProvider expected) =>
        Assert.Equal(expected, ServiceDatabase.Provider(Config("Database:Provider", value)));

    [Theory]
    [InlineData("Postgres")]
    [InlineData("sql server")]
    public void An_unknown_database_provider_is_refused_naming_the_key(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ServiceDatabase.Provider(Config("Database:Provider", value)));

        Assert.Contains("Database:Provider", error.Message);
        Assert.Contains(value, error.Message);
    }

    [Theory]
    [InlineData(null, BusTransport.InMemory)]
    [InlineData("", BusTransport.InMemory)]
    [InlineData("InMemory", BusTransport.InMemory)]
    [InlineData("inmemory", BusTransport.InMemory)]
    [InlineData("INMEMORY", BusTransport.InMemory)]
    [InlineData("RabbitMq", BusTransport.RabbitMq)]
    [InlineData("rabbitmq", BusTransport.RabbitMq)]
    [InlineData("RABBITMQ", BusTransport.RabbitMq)]
    public void Bus_transport_comes_from_configuration_defaults_to_InMemory_and_ignores_case(string? value, BusTransport expected) =>
        Assert.Equal(expected, MeteringBus.Transport(Config("Bus:Transport", value)));

    [Theory]
    [InlineData("Kafka")]
    [InlineData("Rabbit")]
    [InlineData("1")]
    [InlineData("7")]
    [InlineData("InMemory,RabbitMq")]
    public void An_unknown_bus_transport_is_refused_naming_the_key(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => MeteringBus.Transport(Config("Bus:Transport", value)));

        Assert.Contains("Bus:Transport", error.Message);
        Assert.Contains(value, error.Message);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("7")]
    [InlineData("Sqlite,SqlServer")]
    public void A_number_or_a_list_is_not_a_database_provider(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ServiceDatabase.Provider(Config("Database:Provider", value)));

        Assert.Contains("Database:Provider", error.Message);
    }
}
