using Metering.Readings.Data;
using Metering.Readings.Grpc;
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
        // A filtered index (only held readings); the idempotent script quotes it inside EXEC(N'…').
        Assert.Contains("CREATE INDEX [IX_Readings_Held] ON [Readings] ([RecordedAt], [Id]) WHERE \"Status\" = ''Held''", script);
    }

    [Fact]
    public async Task The_held_readings_list_reads_the_index_of_held_readings_on_SQLite()
    {
        using var host = new ReadingsHost();
        var plan = await host.QueryAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            await using var command = ReadingsGrpcService.HeldReadings(db, 100).CreateDbCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
            var steps = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                steps.Add(reader.GetString(3));
            return string.Join("\n", steps);
        });

        // Only held readings are indexed for the operators' list (a partial index), and the list still reads it in order.
        Assert.Contains("USING INDEX IX_Readings_Held", plan);
        Assert.DoesNotContain("TEMP B-TREE", plan);
    }
}
