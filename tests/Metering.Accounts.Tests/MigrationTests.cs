using Metering.Accounts.Data;
using Metering.Hosting.Data;
using Metering.Testing;

namespace Metering.Accounts.Tests;

public class MigrationTests
{
    [Fact]
    public void Sqlite_migrations_match_the_model()
    {
        using var db = new SqliteAccountsDbContext(DesignTime.Sqlite<SqliteAccountsDbContext>());
        MigrationChecks.AssertCurrent(db);
    }

    [Fact]
    public void Sql_Server_migrations_match_the_model_and_script_without_a_server()
    {
        using var db = new SqlServerAccountsDbContext(DesignTime.SqlServer<SqlServerAccountsDbContext>());
        MigrationChecks.AssertCurrent(db);

        var script = MigrationChecks.IdempotentScript(db);

        Assert.Contains("CREATE TABLE [Accounts]", script);
        Assert.Contains("CREATE UNIQUE INDEX [IX_Accounts_UserNumber]", script);
        Assert.Contains("CREATE TABLE [OutboxMessages]", script);
        Assert.Contains("IF NOT EXISTS", script);
    }
}
