using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Metering.Hosting.Data;

/// <summary>
/// Settings every connection of a service's SQLite context gets when it opens (SQLite keeps them per connection):
/// <list type="bullet">
/// <item><c>synchronous=FULL</c>: an answer is given after its commit reached the disk.</item>
/// <item><c>busy_timeout</c>: SQLite itself waits, a few milliseconds at a time, when another connection holds the
/// write lock. Without it SQLite answers "busy" at once and Microsoft.Data.Sqlite sleeps 150 ms before it tries
/// again: a service's own writers queue in memory, but the audit rows and the outbox relay write beside them, and
/// each such collision added 150 ms or more to a single reading in Readings (p99 over a second).</item>
/// <item><c>wal_autocheckpoint=0</c> when <see cref="SqliteCheckpointer{TContext}"/> runs: otherwise the connection
/// whose commit crosses 1 000 pages of write-ahead log copies them into the database and waits for the disk before
/// its caller gets the answer, which put tens of milliseconds on every hundredth payment.</item>
/// </list>
/// </summary>
public sealed class SqliteConnectionPragmas(bool checkpointsInBackground) : DbConnectionInterceptor
{
    // busy_timeout: past this, the command's own retry (until its timeout) takes over. synchronous=FULL: every
    // commit waits for the disk, stated on each open because a pooled connection may come back from work that
    // relaxed it (the outbox relay's bookkeeping, a billing run's chunk).
    private readonly string _pragmas = "PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;" +
                                       (checkpointsInBackground ? " PRAGMA wal_autocheckpoint = 0;" : "");

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
