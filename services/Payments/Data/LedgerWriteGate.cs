namespace Metering.Payments.Data;

/// <summary>
/// Lets one ledger write transaction of this process run at a time on SQLite. SQLite has a single
/// writer anyway: queuing here, in order, is cheaper than many transactions polling the file lock
/// (and retrying on version conflicts). SQL Server writes concurrently, so there the gate is open.
/// Correctness never depends on it: the unique key and the account version still decide.
/// </summary>
public sealed class LedgerWriteGate
{
    private readonly SemaphoreSlim _sqlite = new(1, 1);

    public async Task<IDisposable> EnterAsync(PaymentsDbContext db, CancellationToken cancellationToken)
    {
        if (db.Database.ProviderName != "Microsoft.EntityFrameworkCore.Sqlite")
            return Open.Instance;
        await _sqlite.WaitAsync(cancellationToken);
        return new Held(_sqlite);
    }

    private sealed class Held(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
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
