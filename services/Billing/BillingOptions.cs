namespace Metering.Billing;

/// <summary>Billing's settings, from the <c>Billing</c> section.</summary>
public sealed class BillingOptions
{
    /// <summary>Days from a run's cut-off to its bills' due date.</summary>
    public int PaymentTermDays { get; set; } = 30;

    /// <summary>Accounts billed per transaction of a run: bounds memory, lock time, and the size of one BillIssued.</summary>
    public int RunBatchSize { get; set; } = 500;

    /// <summary>Accounts per chunk of a run: the work item one replica takes from the runs queue.</summary>
    public int RunChunkSize { get; set; } = 5000;

    /// <summary>SQLite page cache (KiB) of the connection billing a chunk: the run's working set of B-tree pages.</summary>
    public int RunSqliteCacheKiB { get; set; } = 65536;

    /// <summary>
    /// SQLite write-ahead log size (pages) at which the connection billing a chunk checkpoints itself; below it the
    /// other connections' commits checkpoint (at SQLite's default of 1000 pages), off the chunk's path.
    /// </summary>
    public int RunSqliteCheckpointPages { get; set; } = 16384;

    /// <summary>
    /// Runs on SQLite take its fast path (raw reads and writes, one transaction per chunk); false sends them through
    /// the EF Core path that SQL Server takes, which a test compares it with.
    /// </summary>
    public bool RunSqliteFastPath { get; set; } = true;

    /// <summary>
    /// Rows per statement on the SQLite fast path: a batch's bills, lines, claims and new year positions are written
    /// this many rows per <c>INSERT</c> (claims per <c>UPDATE … FROM (VALUES …)</c>); 1 writes one row per statement.
    /// </summary>
    public int RunSqliteRowsPerStatement { get; set; } = 32;

    /// <summary>How often the progress stream of a run looks at the run's counters.</summary>
    public int ProgressIntervalMilliseconds { get; set; } = 500;
}
