namespace Metering.Hosting.Security;

/// <summary>
/// A service's own way to store audit rows, cheaper than the context per row that <see cref="AuditTrail"/> opens
/// otherwise: Readings queues them into its group commit. The trail hands a row over and answers the change without
/// waiting for the row's commit; a row the queue does not commit is written by the trail in a context after all.
/// </summary>
public interface IAuditRowQueue
{
    /// <summary>The audit store (the service's context type, as its access policy names it) whose rows this queue takes.</summary>
    Type Store { get; }

    /// <summary>Whether the queue takes rows at all (a group commit is off on SQL Server, for instance).</summary>
    bool Accepts { get; }

    /// <summary>True once the row is committed; false when the trail should write it itself.</summary>
    Task<bool> WriteAsync(AuditEntry entry);
}
