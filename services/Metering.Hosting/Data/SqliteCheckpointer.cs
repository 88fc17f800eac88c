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
    /// <summary>
    /// The passes run on a thread of their own: a checkpoint is synchronous file work (copying pages, then flushing the
    /// database file), tens of milliseconds when the disk is busy, and on the thread pool each one took a worker away
    /// from the requests for that long on a two-core host.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(stoppingToken);
            }
            finally
            {
                done.TrySetResult();
            }
        }) { IsBackground = true, Name = $"checkpoint {typeof(TContext).Name}" };
        thread.Start();
        return done.Task;
    }

    private void Run(CancellationToken stoppingToken)
    {
        SqliteConnection? connection = null;
        try
        {
            while (!stoppingToken.WaitHandle.WaitOne(options.Interval))
            {
                try
                {
                    if (connection is null)
                    {
                        connection = new SqliteConnection(connectionString);
                        connection.Open();
                    }
                    using var command = connection.CreateCommand();
                    command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
                    command.ExecuteNonQuery();
                }
                catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6) // SQLITE_BUSY, SQLITE_LOCKED
                {
                    logger.LogDebug("Checkpoint of {Context} skipped: {Reason}", typeof(TContext).Name, ex.Message);
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Checkpoint of {Context} failed; trying again", typeof(TContext).Name);
                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }
}
