using System.Runtime.CompilerServices;
using Metering.Hosting.Data;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Metering.Platform.Tests;

/// <summary>
/// The SQLite library runs without its memory statistics, whose one shared mutex every allocation took. The setting
/// holds only if it comes before the process's first connection, as it does in a service (the first thing its database
/// set-up does); this assembly applies it the same way, before any test runs.
/// </summary>
public sealed class SqliteLibraryTests
{
    [ModuleInitializer]
    internal static void ConfigureBeforeAnyConnection() => SqliteLibrary.Configure();

    [Fact]
    public void Allocations_inside_SQLite_are_not_counted()
    {
        Assert.True(SqliteLibrary.Configure(), "the library was configured before its first connection");
        var before = raw.sqlite3_memory_used();
        using (var connection = new SqliteConnection("Data Source=:memory:"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE t (x TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO t SELECT hex(randomblob(1000)) FROM n; SELECT COUNT(*) FROM t;";
            Assert.Equal(100L, command.ExecuteScalar());
            // Counted, SQLite's memory in use would have grown by the table's pages (hundreds of KB) while it is open.
            Assert.Equal(before, raw.sqlite3_memory_used());
        }
    }

    [Fact]
    public void Configuring_again_changes_nothing() => Assert.Equal(SqliteLibrary.Configure(), SqliteLibrary.Configure());
}
