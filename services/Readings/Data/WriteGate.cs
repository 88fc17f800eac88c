using Microsoft.EntityFrameworkCore;

namespace Metering.Readings.Data;

/// <summary>
/// One writer at a time per process on SQLite. SQLite lets one transaction write at a time anyway; a
/// writer that finds the file locked is put to sleep and retried by Microsoft.Data.Sqlite, which at 16
/// concurrent callers turns milliseconds into hundreds of them. Queueing in memory instead keeps the
/// latency of a write at the time of the writes ahead of it. SQL Server locks rows and needs no gate.
/// </summary>
public sealed class WriteGate
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<IDisposable> EnterAsync(ReadingsDbContext db, CancellationToken cancellationToken)
    {
        if (!db.Database.IsSqlite())
            return Released.Instance;
        await _gate.WaitAsync(cancellationToken);
        return new Releaser(_gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                gate.Release();
        }
    }

    private sealed class Released : IDisposable
    {
        public static readonly Released Instance = new();

        public void Dispose()
        {
        }
    }
}
