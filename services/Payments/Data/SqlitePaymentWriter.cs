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
/// caller's savepoint); the batch's events go to the outbox together at its end (<see cref="WriteEventsAsync"/>).
/// Rows are written the way EF Core stores them (upper-case Guid text, instants as
/// <c>yyyy-MM-dd HH:mm:ss.FFFFFFF</c>, dates <c>yyyy-MM-dd</c>) so that the EF path reads them unchanged.
/// Idempotency still rests on the unique (Channel, ChannelTransactionId) index.
/// </summary>
public sealed class SqlitePaymentWriter : IAsyncDisposable
{
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.FFFFFFF";

    private readonly PaymentsDbContext _db;
    private readonly List<OutboxMessage> _events = [];
    private readonly DbCommand _exists, _ledger, _payment, _paid, _allocation, _touch;

    /// <summary>
    /// Reads of the database file through a memory map: every commit by another connection (the outbox relay,
    /// the consumers) empties a connection's page cache in WAL mode, and then each posting would read its
    /// account, bill and index pages back with a system call and a copy apiece. Only reads use the map; writes
    /// still go through the WAL and its fsync. The setting stays with the (pooled) connection.
    /// </summary>
    public const string MemoryMapPragma = "PRAGMA mmap_size = 1073741824";

    public SqlitePaymentWriter(PaymentsDbContext db, bool memoryMap = false)
    {
        _db = db;
        if (memoryMap)
        {
            using var map = db.CreateCommandInTransaction(MemoryMapPragma);
            map.ExecuteNonQuery();
        }
        _exists = db.CreateCommandInTransaction(
            "SELECT 1 FROM Payments WHERE Channel = $channel AND ChannelTransactionId = $transaction");
        _exists.AddParameter("$channel");
        _exists.AddParameter("$transaction");
        // One statement per posting for what it reads: whether the key is taken, the account and its open
        // bills (the group commit's loop runs postings one after another, so each statement counts).
        _ledger = db.CreateCommandInTransaction("""
            SELECT EXISTS (SELECT 1 FROM Payments WHERE Channel = $channel AND ChannelTransactionId = $transaction),
                   a.Id, a.CreditFen, r.Id, r.BillId, r.PeriodEnd, r.AmountFen - r.PaidFen
            FROM LedgerAccounts a
            LEFT JOIN Receivables r ON r.LedgerAccountId = a.Id AND r.CancelledAt IS NULL AND r.AmountFen > r.PaidFen
            WHERE a.UserNumber = $user
            """);
        _ledger.AddParameter("$channel");
        _ledger.AddParameter("$transaction");
        _ledger.AddParameter("$user");
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
        var p = _ledger.Parameters;
        p["$channel"].Value = instruction.Channel.Name;
        p["$transaction"].Value = instruction.ChannelTransactionId;
        p["$user"].Value = instruction.UserNumber.Value;
        long accountId, creditBefore;
        var open = new List<OpenBill>();
        await using (var reader = await _ledger.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                // No such account; but a posted key answers as posted, as the EF path checks the key first.
                _exists.Parameters["$channel"].Value = instruction.Channel.Name;
                _exists.Parameters["$transaction"].Value = instruction.ChannelTransactionId;
                if (await _exists.ExecuteScalarAsync(cancellationToken) is not null)
                    return null;
                throw new NotFoundException("account", instruction.UserNumber.Value);
            }
            if (reader.GetInt64(0) != 0)
                return null;
            accountId = reader.GetInt64(1);
            creditBefore = reader.GetInt64(2);
            do
            {
                if (reader.IsDBNull(3))
                    break; // no open bill: the LEFT JOIN's one row
                open.Add(new OpenBill(Guid.Parse(reader.GetString(4)),
                    DateOnly.ParseExact(reader.GetString(5), "yyyy-MM-dd", CultureInfo.InvariantCulture),
                    reader.GetInt64(3), reader.GetInt64(6)));
            }
            while (await reader.ReadAsync(cancellationToken));
        }
        var plan = OldestFirst.Allocate(instruction.AmountFen, open);
        var outstandingAfter = open.Sum(b => b.OutstandingFen) - plan.AllocatedFen;
        var creditAfter = creditBefore + plan.LeftoverFen;

        var paymentId = NewId.NextGuid();
        var paymentText = paymentId.ToString().ToUpperInvariant();
        var nowText = now.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);
        p = _payment.Parameters;
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

        // The same two events as the EF path; WriteEventsAsync writes them with the batch's others.
        var lines = plan.Shares.Select(s => new PaymentAllocationLine(s.BillId, s.AmountFen)).ToList();
        var received = _db.Publish(new PaymentReceived(paymentId, instruction.UserNumber.Value, instruction.Channel.Name,
            instruction.ChannelTransactionId, instruction.AmountFen, instruction.PaidAt, lines, plan.LeftoverFen, now));
        var allocated = _db.Publish(new PaymentAllocated(instruction.UserNumber.Value, paymentId, lines, outstandingAfter - creditAfter, now));
        _events.Add(received);
        _events.Add(allocated);
        return new PostedPayment(paymentId, outstandingAfter, creditAfter, plan.Shares, Replayed: false);
    }

    /// <summary>
    /// Writes the events of every posting made so far to the outbox (one prepared insert for the whole batch,
    /// not one per posting), inside the batch's transaction: call it before the commit. A posting rolled back
    /// to its savepoint never got as far as queueing its events, so only postings that stand are written.
    /// </summary>
    public async Task WriteEventsAsync(CancellationToken cancellationToken)
    {
        await _db.WriteQueuedAsync(_events, cancellationToken);
        _events.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var command in new[] { _exists, _ledger, _payment, _paid, _allocation, _touch })
            await command.DisposeAsync();
    }
}
