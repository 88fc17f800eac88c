using Microsoft.EntityFrameworkCore;

namespace Metering.Accounts.Data;

/// <summary>
/// Lines up this process's bulk write transactions (survey import, conversion) on SQLite before they ask the
/// database for its write lock. SQLite has one writer at a time anyway; a transaction that finds the lock taken is
/// retried by Microsoft.Data.Sqlite with a blocking sleep of 150 ms, which idles the database between batches and
/// holds thread-pool threads. Waiting here is asynchronous and hands over at once. Other processes on the same file
/// are still kept apart by the database lock itself; on SQL Server the gate is open.
/// </summary>
public sealed class BulkWriteGate
{
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>Waits for this process's turn; dispose the result after the commit.</summary>
    public async Task<IDisposable> EnterAsync(DbContext db, CancellationToken ct)
    {
        if (!db.Database.IsSqlite())
            return Open.Instance;
        await gate.WaitAsync(ct);
        return new Turn(gate);
    }

    private sealed class Turn(SemaphoreSlim gate) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
                gate.Release();
        }
    }

    private sealed class Open : IDisposable
    {
        public static readonly Open Instance = new();

        public void Dispose()
        {
        }
    }
}
