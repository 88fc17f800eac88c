using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Metering.Hosting.Data;

public sealed class SqliteCheckpointOptions
{
    /// <summary>False leaves checkpoints to SQLite's own rule (the committing connection, every 1 000 pages).</summary>
    public bool InBackground { get; set; } = true;

    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// Copies the write-ahead log into a service's SQLite database on its own connection, so that no request waits for
/// it (the service's connections run with <c>wal_autocheckpoint=0</c>, see <see cref="SqliteConnectionPragmas"/>).
/// PASSIVE: it takes no write lock and never blocks a writer; what a reader still needs stays for the next pass.
/// Several processes on one file each run one; a pass that finds another checkpoint running just tries again later.
/// </summary>
public sealed class SqliteCheckpointer<TContext>(
    string connectionString,
    SqliteCheckpointOptions options,
    ILogger<SqliteCheckpointer<TContext>> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Interval);
        SqliteConnection? connection = null;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (connection is null)
                    {
                        connection = new SqliteConnection(connectionString);
                        await connection.OpenAsync(stoppingToken);
                    }
                    await using var command = connection.CreateCommand();
                    command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
                    await command.ExecuteNonQueryAsync(stoppingToken);
                }
                catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6) // SQLITE_BUSY, SQLITE_LOCKED
                {
                    logger.LogDebug("Checkpoint of {Context} skipped: {Reason}", typeof(TContext).Name, ex.Message);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Checkpoint of {Context} failed; trying again", typeof(TContext).Name);
                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            connection?.Dispose();
        }
    }
}
