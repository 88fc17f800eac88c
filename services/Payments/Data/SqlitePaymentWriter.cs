using System.Data.Common;
using System.Globalization;
using MassTransit;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Payments.Domain;

namespace Metering.Payments.Data;

/// <summary>
/// The group commit's posting on SQLite with prepared commands: EF Core's query compilation, change
/// tracking and batched SQL cost several milliseconds of CPU per payment, far more than the rows. The
/// commands are prepared once per batch and run inside the batch's transaction (each posting in the
/// caller's savepoint). Rows are written the way EF Core stores them (upper-case Guid text, instants as
/// <c>yyyy-MM-dd HH:mm:ss.FFFFFFF</c>, dates <c>yyyy-MM-dd</c>) so that the EF path reads them unchanged.
/// Idempotency still rests on the unique (Channel, ChannelTransactionId) index.
/// </summary>
public sealed class SqlitePaymentWriter : IAsyncDisposable
{
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.FFFFFFF";

    private readonly PaymentsDbContext _db;
    private readonly DbCommand _exists, _account, _open, _payment, _paid, _allocation, _touch;

    public SqlitePaymentWriter(PaymentsDbContext db)
    {
        _db = db;
        _exists = db.CreateCommandInTransaction(
            "SELECT 1 FROM Payments WHERE Channel = $channel AND ChannelTransactionId = $transaction");
        _exists.AddParameter("$channel");
        _exists.AddParameter("$transaction");
        _account = db.CreateCommandInTransaction("SELECT Id, CreditFen FROM LedgerAccounts WHERE UserNumber = $user");
        _account.AddParameter("$user");
        _open = db.CreateCommandInTransaction("""
            SELECT Id, BillId, PeriodEnd, AmountFen - PaidFen FROM Receivables
            WHERE LedgerAccountId = $account AND CancelledAt IS NULL AND AmountFen > PaidFen
            """);
        _open.AddParameter("$account");
        _payment = db.CreateCommandInTransaction("""
            INSERT INTO Payments (Id, LedgerAccountId, UserNumber, Channel, ChannelTransactionId, AmountFen, PaidAt, ReceivedAt,
                                  CreditAddedFen, OutstandingAfterFen, CreditAfterFen,
                                  ReversalCreditTakenFen, ReversalOutstandingAfterFen, ReversalCreditAfterFen)
            VALUES ($id, $account, $user, $channel, $transaction, $amount, $paid, $received, $credit, $outstanding, $creditAfter, 0, 0, 0)
            """);
        foreach (var name in new[] { "$id", "$account", "$user", "$channel", "$transaction", "$amount", "$paid", "$received", "$credit", "$outstanding", "$creditAfter" })
            _payment.AddParameter(name);
        _paid = db.CreateCommandInTransaction("UPDATE Receivables SET PaidFen = PaidFen + $amount WHERE Id = $id");
        _paid.AddParameter("$amount");
        _paid.AddParameter("$id");
        _allocation = db.CreateCommandInTransaction("""
            INSERT INTO Allocations (ReceivableId, Source, PaymentId, AmountFen, CreatedAt) VALUES ($receivable, 'Payment', $payment, $amount, $now)
            """);
        _allocation.AddParameter("$receivable");
        _allocation.AddParameter("$payment");
        _allocation.AddParameter("$amount");
        _allocation.AddParameter("$now");
        // Version moves so that a concurrent EF writer of this account (reversal, credit) retries.
        _touch = db.CreateCommandInTransaction(
            "UPDATE LedgerAccounts SET CreditFen = CreditFen + $credit, Version = Version + 1 WHERE Id = $id");
        _touch.AddParameter("$credit");
        _touch.AddParameter("$id");
    }

    /// <summary>Same effect and answer as <see cref="PaymentPoster.PostInTransactionAsync"/>; null when the key is taken already.</summary>
    public async Task<PostedPayment?> PostAsync(PaymentInstruction instruction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        _exists.Parameters["$channel"].Value = instruction.Channel.Name;
        _exists.Parameters["$transaction"].Value = instruction.ChannelTransactionId;
        if (await _exists.ExecuteScalarAsync(cancellationToken) is not null)
            return null;

        _account.Parameters["$user"].Value = instruction.UserNumber.Value;
        long accountId, creditBefore;
        await using (var reader = await _account.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
                throw new NotFoundException("account", instruction.UserNumber.Value);
            accountId = reader.GetInt64(0);
            creditBefore = reader.GetInt64(1);
        }

        _open.Parameters["$account"].Value = accountId;
        var open = new List<OpenBill>();
        await using (var reader = await _open.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                open.Add(new OpenBill(Guid.Parse(reader.GetString(1)),
                    DateOnly.ParseExact(reader.GetString(2), "yyyy-MM-dd", CultureInfo.InvariantCulture),
                    reader.GetInt64(0), reader.GetInt64(3)));
        }
        var plan = OldestFirst.Allocate(instruction.AmountFen, open);
        var outstandingAfter = open.Sum(b => b.OutstandingFen) - plan.AllocatedFen;
        var creditAfter = creditBefore + plan.LeftoverFen;

        var paymentId = NewId.NextGuid();
        var paymentText = paymentId.ToString().ToUpperInvariant();
        var nowText = now.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);
        var p = _payment.Parameters;
        p["$id"].Value = paymentText;
        p["$account"].Value = accountId;
        p["$user"].Value = instruction.UserNumber.Value;
        p["$channel"].Value = instruction.Channel.Name;
        p["$transaction"].Value = instruction.ChannelTransactionId;
        p["$amount"].Value = instruction.AmountFen;
        p["$paid"].Value = instruction.PaidAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);
        p["$received"].Value = nowText;
        p["$credit"].Value = plan.LeftoverFen;
        p["$outstanding"].Value = outstandingAfter;
        p["$creditAfter"].Value = creditAfter;
        await _payment.ExecuteNonQueryAsync(cancellationToken);

        var receivableOf = open.ToDictionary(b => b.BillId, b => b.IssueOrder);
        foreach (var share in plan.Shares)
        {
            var receivableId = receivableOf[share.BillId];
            _paid.Parameters["$amount"].Value = share.AmountFen;
            _paid.Parameters["$id"].Value = receivableId;
            await _paid.ExecuteNonQueryAsync(cancellationToken);
            _allocation.Parameters["$receivable"].Value = receivableId;
            _allocation.Parameters["$payment"].Value = paymentText;
            _allocation.Parameters["$amount"].Value = share.AmountFen;
            _allocation.Parameters["$now"].Value = nowText;
            await _allocation.ExecuteNonQueryAsync(cancellationToken);
        }
        _touch.Parameters["$credit"].Value = plan.LeftoverFen;
        _touch.Parameters["$id"].Value = accountId;
        await _touch.ExecuteNonQueryAsync(cancellationToken);

        // The same two events as the EF path, written to the outbox by a prepared insert.
        var lines = plan.Shares.Select(s => new PaymentAllocationLine(s.BillId, s.AmountFen)).ToList();
        var queued = new[]
        {
            _db.Publish(new PaymentReceived(paymentId, instruction.UserNumber.Value, instruction.Channel.Name,
                instruction.ChannelTransactionId, instruction.AmountFen, instruction.PaidAt, lines, plan.LeftoverFen, now)),
            _db.Publish(new PaymentAllocated(instruction.UserNumber.Value, paymentId, lines, outstandingAfter - creditAfter, now)),
        };
        await _db.WriteQueuedAsync(queued, cancellationToken);
        return new PostedPayment(paymentId, outstandingAfter, creditAfter, plan.Shares, Replayed: false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var command in new[] { _exists, _account, _open, _payment, _paid, _allocation, _touch })
            await command.DisposeAsync();
    }
}
