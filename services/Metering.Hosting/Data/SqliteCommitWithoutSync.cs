using Microsoft.EntityFrameworkCore;

namespace Metering.Hosting.Data;

/// <summary>
/// Lets a context's SQLite connection commit without waiting for the disk (<c>synchronous=NORMAL</c>: still atomic in
/// WAL mode, durable at the next checkpoint or <see cref="SqliteWalSync"/>) until disposed. Used by work that either
/// does not need each commit on the disk (the outbox relay's claims and sent marks: a lost mark only publishes the
/// rows again with their fixed message ids, which the consumers' inbox turns into no-ops) or waits for the disk
/// itself after releasing the write lock (a pipelined group commit). The connection is pooled, so its setting is put
/// back before it returns to the pool. On other providers it does nothing.
/// </summary>
public sealed class SqliteCommitWithoutSync : IAsyncDisposable
{
    private readonly DbContext? _db;
    private readonly long _saved;

    private SqliteCommitWithoutSync(DbContext? db, long saved, SqliteWalSync? logFlush)
    {
        _db = db;
        _saved = saved;
        LogFlush = logFlush;
    }

    /// <summary>The flush that makes this connection's commits durable (null on other providers): what a pipelined
    /// group commit returns for its answers to wait on, and what the relay awaits before it publishes.</summary>
    public SqliteWalSync? LogFlush { get; }

    public static async Task<SqliteCommitWithoutSync> BeginAsync(DbContext db, CancellationToken cancellationToken)
    {
        if (!db.Database.IsSqlite())
            return new SqliteCommitWithoutSync(null, 0, null);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = "PRAGMA synchronous;";
            var saved = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken));
            command.CommandText = "PRAGMA synchronous = NORMAL;";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new SqliteCommitWithoutSync(db, saved, SqliteWalSync.For(db));
        }
        catch
        {
            await db.Database.CloseConnectionAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_db is null)
            return;
        try
        {
            await using var command = _db.Database.GetDbConnection().CreateCommand();
            command.CommandText = $"PRAGMA synchronous = {_saved};";
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            await _db.Database.CloseConnectionAsync();
        }
    }
}
