using Metering.Accounts.Domain;
using Metering.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Accounts.Data;

/// <summary>
/// Allocates user numbers inside the caller's transaction. The increment is one UPDATE on the
/// prefix's row: SQL Server holds that row's lock and SQLite the write lock until commit, so two
/// requests or two replicas on one database never read the same serial; a rolled-back allocation
/// was never issued. The unique index on Accounts.UserNumber is the last guard.
/// </summary>
public sealed class UserNumberAllocator(AccountsDbContext db, UserNumberPlan defaultPlan)
{
    public Task<IReadOnlyList<UserNumber>> AllocateAsync(int count, CancellationToken cancellationToken) =>
        AllocateAsync(defaultPlan, count, cancellationToken);

    public async Task<IReadOnlyList<UserNumber>> AllocateAsync(UserNumberPlan plan, int count, CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("allocate user numbers inside the transaction that stores the accounts");
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count));

        var updated = await db.UserNumberSequences
            .Where(s => s.Prefix == plan.Prefix)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.LastSerial, x => x.LastSerial + count), cancellationToken);
        if (updated == 0)
        {
            // First number under this prefix. Two first allocations at once collide on the key; the loser retries.
            db.UserNumberSequences.Add(new UserNumberSequence { Prefix = plan.Prefix, LastSerial = count });
            await db.SaveChangesAsync(cancellationToken);
        }

        var last = await db.UserNumberSequences
            .Where(s => s.Prefix == plan.Prefix)
            .Select(s => s.LastSerial)
            .SingleAsync(cancellationToken);
        return Enumerable.Range(0, count).Select(i => plan.For(last - count + 1 + i)).ToList();
    }
}
