using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Metering.Platform.Tests;

/// <summary>
/// A service's connections do not checkpoint on commit (the answer would wait for it); the background
/// checkpointer copies the write-ahead log into the database file instead.
/// </summary>
public sealed class SqliteCheckpointTests
{
    [Fact]
    public async Task Service_connections_leave_checkpoints_to_the_background_checkpointer()
    {
        using var folder = new TempFolder();
        var file = folder.File("platform.db");
        await using var host = await PlatformHost.StartAsync(file);

        for (var i = 1; i <= 40; i++)
            await host.CreateWidgetAsync($"widget {i}", i);

        var autoCheckpointPages = await host.InDbAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = "PRAGMA wal_autocheckpoint;";
            return (long)(await command.ExecuteScalarAsync())!;
        });
        Assert.Equal(0, autoCheckpointPages);

        // The database file alone (a copy without its -wal) holds the widgets only once a checkpoint has run.
        // A copy taken while a checkpoint is writing the file may be torn; the next one, once the writes are
        // all copied in, is not.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        long? inDatabaseFile;
        do
        {
            await Task.Delay(200);
            inDatabaseFile = CountWidgetsInDatabaseFileAlone(file, folder.File($"copy-{Guid.NewGuid():N}.db"));
        } while (inDatabaseFile != 40 && DateTime.UtcNow < deadline);
        Assert.Equal(40, inDatabaseFile);
    }

    /// <returns>Null when the copy was torn by a checkpoint writing the file at that moment.</returns>
    private static long? CountWidgetsInDatabaseFileAlone(string file, string copy)
    {
        using (var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var target = File.Create(copy))
            source.CopyTo(target);
        using var connection = new SqliteConnection($"Data Source={copy};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM Widgets;";
        try
        {
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 11 or 26) // SQLITE_CORRUPT, SQLITE_NOTADB
        {
            return null;
        }
    }
}
