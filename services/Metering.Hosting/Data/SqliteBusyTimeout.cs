using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Metering.Hosting.Data;

/// <summary>
/// Lets SQLite itself wait (a few milliseconds at a time) when another connection holds the write lock. Without a
/// busy timeout SQLite answers "busy" at once and Microsoft.Data.Sqlite sleeps 150 ms before it tries again: a
/// service's own writers queue in memory, but the audit rows and the outbox relay write beside them, and each such
/// collision added 150 ms or more to a single reading in Readings (p99 over a second). Every service's SQLite
/// context gets it.
/// </summary>
public sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    public static readonly SqliteBusyTimeout Instance = new();

    /// <summary>Past this, the command's own retry (until its timeout) takes over.</summary>
    private const string Pragma = "PRAGMA busy_timeout = 5000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
