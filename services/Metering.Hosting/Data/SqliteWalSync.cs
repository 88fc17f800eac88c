using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Metering.Hosting.Telemetry;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Metering.Hosting.Data;

/// <summary>
/// Makes what has been committed to a SQLite database (in WAL mode) durable by flushing its write-ahead log to the
/// disk, outside SQLite's write lock. A commit at <c>synchronous=NORMAL</c> is atomic and visible at once but waits
/// for the disk only at the next checkpoint; flushing the log afterwards gives it the durability of
/// <c>synchronous=FULL</c> (the log is append-only: the flush covers every frame written before it, the commit's
/// included), while the next writer already holds the lock. One flush serves every caller that committed before it
/// started, and at most one runs per file at a time.
/// </summary>
public sealed class SqliteWalSync : ILogFlush
{
    private static readonly ConcurrentDictionary<string, SqliteWalSync> Files = new(StringComparer.Ordinal);

    private readonly string _databaseFile;
    private readonly string _walFile;
    private readonly KeyValuePair<string, object?> _tag;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private long _requested;
    private long _synced;

    private SqliteWalSync(string databaseFile)
    {
        _databaseFile = databaseFile;
        _walFile = databaseFile + "-wal";
        _tag = new KeyValuePair<string, object?>("db.namespace", Path.GetFileName(databaseFile));
    }

    /// <summary>The sync of the file this open connection writes; null for an in-memory or temporary database.</summary>
    public static SqliteWalSync? For(SqliteConnection connection) =>
        connection.State == System.Data.ConnectionState.Open && !string.IsNullOrEmpty(connection.DataSource)
            ? Files.GetOrAdd(Path.GetFullPath(connection.DataSource), file => new SqliteWalSync(file))
            : null;

    /// <summary>The sync of a context's database while its connection is open; null on other providers.</summary>
    public static SqliteWalSync? For(DbContext db) =>
        db.Database.IsSqlite() && db.Database.GetDbConnection() is SqliteConnection connection ? For(connection) : null;

    /// <summary>
    /// Returns once everything committed to the file before the call is on the disk. Concurrent callers share a
    /// flush: a caller that finds a flush already running waits for it and runs one more only if that flush
    /// started before the caller's own commit (a flush that begins later covers it).
    /// </summary>
    public async Task SyncAsync()
    {
        var ticket = Interlocked.Increment(ref _requested);
        await _oneAtATime.WaitAsync();
        try
        {
            if (Volatile.Read(ref _synced) >= ticket)
                return;
            // Every ticket handed out so far belongs to a commit that is written: this flush covers them all.
            var covers = Volatile.Read(ref _requested);
            var started = Stopwatch.GetTimestamp();
            Flush();
            GroupCommitMetrics.Sync.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, _tag);
            Volatile.Write(ref _synced, covers);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private void Flush()
    {
        // fsync acts on the file, not on the descriptor: a handle of our own flushes what SQLite wrote through its.
        // No log file means the database is not in WAL mode or the log was checkpointed and removed (which SQLite
        // does only after syncing the database): then the database file itself is flushed.
        var file = File.Exists(_walFile) ? _walFile : _databaseFile;
        try
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            if (OperatingSystem.IsLinux())
            {
                // fdatasync, as SQLite syncs its log: every append changes the file's modification time, and fsync
                // would also wait for the file system's journal to record that, which recovery does not need.
                if (fdatasync((int)handle.DangerousGetHandle()) != 0)
                    throw new IOException($"fdatasync of {file} failed (errno {Marshal.GetLastPInvokeError()})");
            }
            else
                RandomAccess.FlushToDisk(handle);
        }
        catch (FileNotFoundException) when (file == _walFile)
        {
            // Removed between the check and the open: its frames were checkpointed into the synced database.
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(int fileDescriptor);
}
