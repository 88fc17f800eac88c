using Metering.Payments.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Metering.Payments.Tests;

public class MigrationsTests
{
    [Fact]
    public void The_migrations_of_both_providers_match_the_model()
    {
        using var sqlite = new SqlitePaymentsDesignTimeFactory().CreateDbContext([]);
        using var sqlServer = new SqlServerPaymentsDesignTimeFactory().CreateDbContext([]);

        Assert.False(sqlite.Database.HasPendingModelChanges(), "SQLite: run scripts/add-migration.sh Payments <Name>");
        Assert.False(sqlServer.Database.HasPendingModelChanges(), "SQL Server: run scripts/add-migration.sh Payments <Name>");
    }

    [Fact]
    public void The_SQL_Server_script_keeps_the_idempotency_key_unique_and_case_sensitive()
    {
        // No server needed: the script is produced from the migrations alone.
        using var db = new SqlServerPaymentsDesignTimeFactory().CreateDbContext([]);
        var script = db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        Assert.Contains("CREATE UNIQUE INDEX [IX_Payments_Channel_ChannelTransactionId]", script);
        Assert.Contains("[ChannelTransactionId] varchar(64) COLLATE Latin1_General_100_BIN2", script);
        Assert.Contains("CREATE UNIQUE INDEX [IX_Receivables_BillId]", script);
    }
}
