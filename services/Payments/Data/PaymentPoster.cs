using MassTransit;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Metering.Payments.Domain;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Data;

/// <summary>The answer to a posting; a repeated posting gets the stored answer with <see cref="Replayed"/> set.</summary>
public sealed record PostedPayment(
    Guid PaymentId, long OutstandingFen, long CreditFen, IReadOnlyList<BillShare> Allocations, bool Replayed);

/// <summary>
/// Posts a channel's payment: payment, allocations, the account's credit and <c>PaymentReceived</c>
/// in one transaction. Idempotent on (channel, channel transaction id) through the unique index:
/// when several copies of one notification race, one insert wins and the others read its answer.
/// </summary>
public sealed class PaymentPoster(
    IServiceProvider services, LedgerWriteGate gate, PostingBatcher batcher, TimeProvider clock, ILogger<PaymentPoster> logger)
{
    private const int MaxAttempts = 10;

    // The scope's DbContext, created only when needed: a posting that the group commit decides never uses it,
    // and creating one per call costs a noticeable part of a posting's CPU.
    private PaymentsDbContext? _db;
    private PaymentsDbContext Db => _db ??= services.GetRequiredService<PaymentsDbContext>();

    public async Task<PostedPayment> PostAsync(PaymentInstruction instruction, CancellationToken cancellationToken)
    {
        // A repeated notification is answered without touching the ledger. With the group commit on, its
        // prepared key look-up does this check anyway, and an EF query per new payment would cost more CPU
        // than the posting itself; a repeat then gets its answer below, after the batcher declines it.
        if (!batcher.Enabled && await ExistsAsync(instruction, cancellationToken) && await FindAsync(instruction, cancellationToken) is { } earlier)
            return Replay(earlier, instruction);

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (await PostOnceAsync(instruction, grouped: attempt == 1, cancellationToken) is { } posted)
                    return posted;
                // A copy of this notification committed while this one waited for its turn...
                if (await FindAsync(instruction, cancellationToken) is { } winner)
                    return Replay(winner, instruction);
                // ...or the group commit handed it back undecided: post it alone.
                if (await PostOnceAsync(instruction, grouped: false, cancellationToken) is { } alone)
                    return alone;
                return Replay(await FindAsync(instruction, cancellationToken)
                    ?? throw new InvalidOperationException("a posted payment vanished"), instruction);
            }
            catch (DbUpdateConcurrencyException) when (attempt < MaxAttempts)
            {
                // Another writer changed this account's ledger since we read it: start again from the database.
                Db.ChangeTracker.Clear();
                logger.LogDebug("Ledger of {UserNumber} changed concurrently; attempt {Attempt} retries",
                    instruction.UserNumber, attempt);
                await Task.Delay(Random.Shared.Next(5, 20 * attempt), cancellationToken);
            }
            catch (DbUpdateException)
            {
                Db.ChangeTracker.Clear();
                // Most likely the unique key: a copy of this notification committed first. Anything else is a real failure.
                var winner = await FindAsync(instruction, cancellationToken);
                if (winner is null)
                    throw;
                return Replay(winner, instruction);
            }
        }
    }

    /// <summary>Null when the transaction was posted by someone else first.</summary>
    private async Task<PostedPayment?> PostOnceAsync(PaymentInstruction instruction, bool grouped, CancellationToken cancellationToken)
    {
        // On SQLite, postings arriving together share one transaction and one fsync.
        if (grouped && batcher.Enabled)
            return await batcher.PostAsync(instruction, cancellationToken);

        using var turn = await gate.EnterAsync(Db, cancellationToken);
        await using var transaction = await Db.Database.BeginTransactionAsync(cancellationToken);
        var posted = await PostInTransactionAsync(Db, instruction, clock.GetUtcNow(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return posted;
    }

    /// <summary>
    /// The posting itself, inside the caller's transaction: payment, allocations, credit and both
    /// events, saved but not committed. Null when the key is taken already.
    /// </summary>
    internal static async Task<PostedPayment?> PostInTransactionAsync(
        PaymentsDbContext db, PaymentInstruction instruction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await ExistsAsync(db, instruction, cancellationToken))
            return null;
        var account = await db.LedgerAccounts.SingleOrDefaultAsync(a => a.UserNumber == instruction.UserNumber.Value, cancellationToken)
            ?? throw new NotFoundException("account", instruction.UserNumber.Value);

        var payment = new Payment
        {
            Id = NewId.NextGuid(),
            Account = account,
            UserNumber = instruction.UserNumber.Value,
            Channel = instruction.Channel.Name,
            ChannelTransactionId = instruction.ChannelTransactionId,
            AmountFen = instruction.AmountFen,
            PaidAt = instruction.PaidAt.UtcDateTime,
            ReceivedAt = now.UtcDateTime,
        };
        db.Payments.Add(payment);

        var applied = await Ledger.ApplyAsync(db, account, instruction.AmountFen, payment, now.UtcDateTime, cancellationToken);
        account.CreditFen += applied.LeftoverFen;
        payment.CreditAddedFen = applied.LeftoverFen;
        payment.OutstandingAfterFen = applied.OutstandingAfterFen;
        payment.CreditAfterFen = account.CreditFen;

        var shares = applied.Allocations.Select(a => new BillShare(a.Receivable.BillId, a.AmountFen)).ToList();
        // CreditFen of the event is this payment's part that went to credit: AmountFen = Σ allocations + CreditFen.
        db.Publish(new PaymentReceived(payment.Id, payment.UserNumber, payment.Channel, payment.ChannelTransactionId,
            payment.AmountFen, instruction.PaidAt,
            shares.Select(s => new PaymentAllocationLine(s.BillId, s.AmountFen)).ToList(),
            payment.CreditAddedFen, now));
        // Billing shows the balance brought forward on the next bill (negative: credit).
        db.Publish(new PaymentAllocated(payment.UserNumber, payment.Id,
            shares.Select(s => new PaymentAllocationLine(s.BillId, s.AmountFen)).ToList(),
            payment.OutstandingAfterFen - payment.CreditAfterFen, now));

        await db.SaveChangesAsync(cancellationToken);
        return new PostedPayment(payment.Id, payment.OutstandingAfterFen, payment.CreditAfterFen, shares, Replayed: false);
    }

    private Task<bool> ExistsAsync(PaymentInstruction instruction, CancellationToken cancellationToken) =>
        ExistsAsync(Db, instruction, cancellationToken);

    private static Task<bool> ExistsAsync(PaymentsDbContext db, PaymentInstruction instruction, CancellationToken cancellationToken) =>
        db.Payments.AnyAsync(p => p.Channel == instruction.Channel.Name
            && p.ChannelTransactionId == instruction.ChannelTransactionId, cancellationToken);
    private Task<Payment?> FindAsync(PaymentInstruction instruction, CancellationToken cancellationToken) =>
        Db.Payments.AsNoTracking()
            .Include(p => p.Allocations).ThenInclude(a => a.Receivable)
            .AsSplitQuery()
            .SingleOrDefaultAsync(p => p.Channel == instruction.Channel.Name
                && p.ChannelTransactionId == instruction.ChannelTransactionId, cancellationToken);

    private static PostedPayment Replay(Payment payment, PaymentInstruction instruction)
    {
        var paidAt = DateTime.SpecifyKind(payment.PaidAt, DateTimeKind.Utc);
        if (payment.UserNumber != instruction.UserNumber.Value
            || payment.AmountFen != instruction.AmountFen
            || paidAt != instruction.PaidAt.UtcDateTime)
            throw new AlreadyExistsException(
                $"{instruction.Channel} transaction {instruction.ChannelTransactionId} was already posted with other content " +
                $"(user number {payment.UserNumber}, {payment.AmountFen} fen, paid at {paidAt:O})");

        var shares = payment.Allocations.Where(a => a.Source == AllocationSource.Payment).OrderBy(a => a.Id)
            .Select(a => new BillShare(a.Receivable.BillId, a.AmountFen))
            .ToList();
        return new PostedPayment(payment.Id, payment.OutstandingAfterFen, payment.CreditAfterFen, shares, Replayed: true);
    }
}
