using Microsoft.EntityFrameworkCore;

namespace Metering.Hosting.Messaging;

/// <summary>
/// The relay's own writes (claims and sent marks) on SQLite commit without waiting for the disk
/// (<c>synchronous=NORMAL</c>, still atomic in WAL mode). Lost on a power cut, a mark only makes the relay publish
/// those rows again with their fixed message ids, which the consumers' inbox turns into no-ops; a lost claim only
/// frees rows early. Waiting for the disk twice a pass put the relay's fsyncs in the queue in front of every
/// request that commits. The connection is pooled, so its setting is put back before it returns to the pool.
/// </summary>
internal sealed class RelayDurability : IAsyncDisposable
{
    private readonly DbContext? _db;
    private readonly long _saved;

    private RelayDurability(DbContext? db, long saved)
    {
        _db = db;
        _saved = saved;
    }

    public static async Task<RelayDurability> RelaxAsync(DbContext db, CancellationToken cancellationToken)
    {
        if (!db.Database.IsSqlite())
            return new RelayDurability(null, 0);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = "PRAGMA synchronous;";
            var saved = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken));
            command.CommandText = "PRAGMA synchronous = NORMAL;";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new RelayDurability(db, saved);
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
