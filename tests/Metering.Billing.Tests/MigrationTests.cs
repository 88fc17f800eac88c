using Metering.Billing.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Metering.Billing.Tests;

public class MigrationTests
{
    [Fact]
    public void Both_providers_have_migrations_for_the_current_model()
    {
        using var sqlite = new SqliteBillingDesignTimeFactory().CreateDbContext([]);
        using var sqlServer = new SqlServerBillingDesignTimeFactory().CreateDbContext([]);

        Assert.False(sqlite.Database.HasPendingModelChanges());
        Assert.False(sqlServer.Database.HasPendingModelChanges());
    }

    [Fact]
    public void The_SQL_Server_script_is_produced_without_a_server()
    {
        using var db = new SqlServerBillingDesignTimeFactory().CreateDbContext([]);

        var script = db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        Assert.Contains("CREATE TABLE [Bills]", script);
        Assert.Contains("WHERE [ActiveSlot] IS NOT NULL", script);
        Assert.Contains("CREATE UNIQUE INDEX [IX_Consumptions_ReadingId]", script);
    }
}
