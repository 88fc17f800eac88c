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
public sealed class PaymentPoster(PaymentsDbContext db, TimeProvider clock, ILogger<PaymentPoster> logger)
{
    private const int MaxAttempts = 10;

    public async Task<PostedPayment> PostAsync(PaymentInstruction instruction, CancellationToken cancellationToken)
    {
        // A repeated notification is answered without touching the ledger.
        var earlier = await FindAsync(instruction, cancellationToken);
        if (earlier is not null)
            return Replay(earlier, instruction);

        if (!await db.LedgerAccounts.AnyAsync(a => a.UserNumber == instruction.UserNumber.Value, cancellationToken))
            throw new NotFoundException("account", instruction.UserNumber.Value);

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await PostOnceAsync(instruction, cancellationToken);
            }
            catch (DbUpdateConcurrencyException) when (attempt < MaxAttempts)
            {
                // Another writer changed this account's ledger since we read it: start again from the database.
                db.ChangeTracker.Clear();
                logger.LogDebug("Ledger of {UserNumber} changed concurrently; attempt {Attempt} retries",
                    instruction.UserNumber, attempt);
                await Task.Delay(Random.Shared.Next(5, 20 * attempt), cancellationToken);
            }
            catch (DbUpdateException)
            {
                db.ChangeTracker.Clear();
                // Most likely the unique key: a copy of this notification committed first. Anything else is a real failure.
                var winner = await FindAsync(instruction, cancellationToken);
                if (winner is null)
                    throw;
                return Replay(winner, instruction);
            }
        }
    }

    private async Task<PostedPayment> PostOnceAsync(PaymentInstruction instruction, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var account = await db.LedgerAccounts.SingleAsync(a => a.UserNumber == instruction.UserNumber.Value, cancellationToken);

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

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new PostedPayment(payment.Id, payment.OutstandingAfterFen, payment.CreditAfterFen, shares, Replayed: false);
    }

    private Task<Payment?> FindAsync(PaymentInstruction instruction, CancellationToken cancellationToken) =>
        db.Payments.AsNoTracking()
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

        var shares = payment.Allocations.OrderBy(a => a.Id)
            .Select(a => new BillShare(a.Receivable.BillId, a.AmountFen))
            .ToList();
        return new PostedPayment(payment.Id, payment.OutstandingAfterFen, payment.CreditAfterFen, shares, Replayed: true);
    }
}
