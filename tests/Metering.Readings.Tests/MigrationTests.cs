using Metering.Readings.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Metering.Readings.Tests;

public class MigrationTests
{
    [Fact]
    public void The_SQLite_migrations_match_the_model()
    {
        using var db = new SqliteReadingsDesignTimeFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(), "model changed: regenerate the migrations (scripts/add-migration.sh)");
    }

    [Fact]
    public void The_SQL_Server_migrations_match_the_model_and_script_without_a_server()
    {
        using var db = new SqlServerReadingsDesignTimeFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(), "model changed: regenerate the migrations (scripts/add-migration.sh)");

        var script = db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        Assert.Contains("CREATE TABLE [Readings]", script);
        Assert.Contains("CREATE UNIQUE INDEX [IX_Readings_AccountId_Sequence]", script);
        Assert.Contains("[LastReadingSequence] int NOT NULL", script);
    }
}
