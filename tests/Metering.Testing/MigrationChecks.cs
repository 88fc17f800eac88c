using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Xunit;

namespace Metering.Testing;

/// <summary>
/// SQL Server cannot run on the build machines, so its migrations are checked without a server:
/// the model has no change without a migration, and the idempotent T-SQL script is produced.
/// </summary>
public static class MigrationChecks
{
    public static void AssertCurrent(DbContext db)
    {
        Assert.True(db.Database.GetMigrations().Any(), $"{db.GetType().Name} has no migrations");
        Assert.False(db.Database.HasPendingModelChanges(),
            $"{db.GetType().Name}: the model changed without a migration; run scripts/add-migration.sh <Service> <Name>");
    }

    public static string IdempotentScript(DbContext db) =>
        db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);
}
