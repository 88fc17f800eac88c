using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Metering.Hosting.Messaging;

/// <summary>Wakes a service's relay as soon as outbox rows are committed, so events do not wait for the next poll.</summary>
public sealed class OutboxSignal<TContext> where TContext : MessagingDbContext
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        // At most one pending wake-up: the relay drains everything it finds anyway.
        if (_signal.CurrentCount == 0)
        {
            try { _signal.Release(); }
            catch (SemaphoreFullException) { }
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _signal.WaitAsync(timeout, cancellationToken);
}

/// <summary>
/// Notifies the relay after a SaveChanges that added outbox rows outside a transaction, and after
/// every commit (the rows of an explicit transaction are visible only then).
/// </summary>
public sealed class OutboxSignalInterceptor<TContext>(OutboxSignal<TContext> signal)
    : SaveChangesInterceptor, IDbTransactionInterceptor
    where TContext : MessagingDbContext
{
    public override ValueTask<int> SavedChangesAsync(
        SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context?.Database.CurrentTransaction is null)
            signal.Notify();
        return ValueTask.FromResult(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        if (eventData.Context?.Database.CurrentTransaction is null)
            signal.Notify();
        return result;
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => signal.Notify();

    public Task TransactionCommittedAsync(
        DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        signal.Notify();
        return Task.CompletedTask;
    }
}
