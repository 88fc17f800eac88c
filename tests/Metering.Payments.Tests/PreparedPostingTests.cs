using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Metering.Contracts.Events;
using Metering.Contracts.Payments.V1;
using Metering.Payments.Data;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Tests;

/// <summary>
/// The group commit's prepared-command posting (default on SQLite) against the EF Core posting
/// (<c>Payments:PreparedPosting=false</c>): the same notifications give the same answers, rows and events.
/// </summary>
public sealed class PreparedPostingTests : IDisposable
{
    private readonly LedgerHost _prepared = new();
    private readonly LedgerHost _ef = new(new Dictionary<string, string?> { ["Payments:PreparedPosting"] = "false" });

    public void Dispose()
    {
        _prepared.Dispose();
        _ef.Dispose();
    }

    [Fact]
    public async Task Prepared_posting_answers_and_writes_what_the_EF_posting_does()
    {
        var alice = LedgerHost.UserNumberFor(1);
        var bob = LedgerHost.UserNumberFor(2);
        var aliceBills = LedgerHost.ThreeQuarters(alice);
        var bobBills = LedgerHost.ThreeQuarters(bob)[..1];
        var notifications = new[]
        {
            Payment(alice, 20_000, "A-1"), // part of the oldest bill
            Payment(alice, 40_000, "A-2"), // the rest of it and part of the next
            Payment(bob, 50_000, "B-1"), // overpaid: 16 800 credit
            Payment(alice, 20_000, "A-1"), // repeated: the original answer
            Payment(alice, 100_000, "A-3"), // everything left and credit
        };

        var answers = new List<List<PostPaymentResponse>>();
        foreach (var ledger in new[] { _prepared, _ef })
        {
            await ledger.OpenAccountAsync(alice);
            await ledger.OpenAccountAsync(bob);
            await ledger.IssueAsync([.. aliceBills, .. bobBills]);
            var given = new List<PostPaymentResponse>();
            foreach (var notification in notifications)
            {
                var answer = await ledger.Client.PostPaymentAsync(notification);
                answer.PaymentId = ""; // new ids on each side
                given.Add(answer);
            }
            var other = await Assert.ThrowsAsync<RpcException>(() => ledger.Client.PostPaymentAsync(Payment(alice, 20_001, "A-1")).ResponseAsync);
            Assert.Equal(StatusCode.AlreadyExists, other.StatusCode);
            var unknown = await Assert.ThrowsAsync<RpcException>(() =>
                ledger.Client.PostPaymentAsync(Payment(LedgerHost.UserNumberFor(9), 1_000, "X-1")).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
            answers.Add(given);
        }

        Assert.Equal(answers[1], answers[0]);
        Assert.True(answers[0][3].Replayed);
        Assert.Equal(await _ef.CountAsync(), await _prepared.CountAsync());
        Assert.Equal(await StoredAsync(_ef), await StoredAsync(_prepared));
        Assert.Equal(Events(await _ef.OutboxAsync<PaymentReceived>()), Events(await _prepared.OutboxAsync<PaymentReceived>()));
        Assert.Equal(
            (await _ef.OutboxAsync<PaymentAllocated>()).Select(e => (e.UserNumber, e.BalanceFen, Lines(e.Allocations))),
            (await _prepared.OutboxAsync<PaymentAllocated>()).Select(e => (e.UserNumber, e.BalanceFen, Lines(e.Allocations))));

        // A payment posted by prepared commands reverses through EF like any other.
        var reversed = await _prepared.Client.ReversePaymentAsync(new ReversePaymentRequest
            { Channel = "alipay", ChannelTransactionId = "A-2", Reason = "refund" });
        Assert.NotNull(reversed);
    }

    [Fact]
    public async Task Notifications_arriving_together_get_the_same_outcomes_and_events_as_on_the_EF_path()
    {
        // Sent at once, so that the group commit takes them in shared batches: new payments, unknown accounts,
        // resent notifications of a posted key (same content, other content, an unknown account) side by side.
        var alice = LedgerHost.UserNumberFor(1);
        var bob = LedgerHost.UserNumberFor(2);
        var stranger = LedgerHost.UserNumberFor(9);
        var posted = Payment(alice, 5_000, "A-0");
        var notifications = Enumerable.Range(0, 12).Select(i => Payment(i % 2 == 0 ? alice : bob, 1_000 + i, $"N-{i}"))
            .Concat(Enumerable.Range(0, 4).Select(i => Payment(stranger, 1_000, $"U-{i}")))
            .Concat(Enumerable.Range(0, 4).Select(_ => posted))
            .Concat([Payment(alice, 5_001, "A-0"), Payment(stranger, 5_000, "A-0")])
            .ToArray();

        var outcomes = new List<List<string>>();
        var balances = new List<List<string>>();
        var received = new List<List<string>>();
        foreach (var ledger in new[] { _prepared, _ef })
        {
            await ledger.OpenAccountAsync(alice);
            await ledger.OpenAccountAsync(bob);
            await ledger.IssueAsync([.. LedgerHost.ThreeQuarters(alice), .. LedgerHost.ThreeQuarters(bob)]);
            await ledger.Client.PostPaymentAsync(posted);
            outcomes.Add([.. await Task.WhenAll(notifications.Select(async n =>
            {
                try
                {
                    var answer = await ledger.Client.PostPaymentAsync(n);
                    return $"{n.ChannelTransactionId} OK replayed={answer.Replayed}";
                }
                catch (RpcException ex)
                {
                    return $"{n.ChannelTransactionId} {ex.StatusCode}";
                }
            }))]);
            balances.Add([.. await Task.WhenAll(new[] { alice, bob }.Select(async u =>
            {
                var balance = await ledger.Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = u });
                return $"{u} {balance.OutstandingFen} {balance.CreditFen}";
            }))]);
            var events = await ledger.OutboxAsync<PaymentReceived>();
            received.Add([.. events.Select(e => $"{e.UserNumber}|{e.ChannelTransactionId}|{e.AmountFen}").Order()]);
            // Two events for every payment that stands, none for the refused or resent ones.
            Assert.Equal(events.Count, (await ledger.OutboxAsync<PaymentAllocated>()).Count);
            Assert.Equal(13, events.Count);
            Assert.Equal(13, (await ledger.CountAsync()).Payments);
        }

        Assert.Equal(outcomes[1], outcomes[0]);
        Assert.Equal(balances[1], balances[0]);
        Assert.Equal(received[1], received[0]);
        Assert.Contains("A-0 OK replayed=True", outcomes[0]);
        Assert.Equal(2, outcomes[0].Count(o => o == "A-0 AlreadyExists"));
        Assert.Equal(4, outcomes[0].Count(o => o.StartsWith("U-", StringComparison.Ordinal) && o.EndsWith("NotFound", StringComparison.Ordinal)));
    }

    private static string Lines(IEnumerable<PaymentAllocationLine> lines) => string.Join(";", lines.Select(l => $"{l.BillId}:{l.AmountFen}"));

    private static List<string> Events(List<PaymentReceived> events) =>
        events.Select(e => $"{e.UserNumber}|{e.Channel}|{e.ChannelTransactionId}|{e.AmountFen}|{e.PaidAt:O}|{Lines(e.Allocations)}|{e.CreditFen}").ToList();

    /// <summary>Every ledger row that a posting writes, without the ids and instants that differ between hosts.</summary>
    private static Task<List<string>> StoredAsync(LedgerHost ledger) => ledger.QueryAsync(async db =>
    {
        var rows = new List<string>();
        foreach (var p in await db.Payments.AsNoTracking().Include(p => p.Account).OrderBy(p => p.ChannelTransactionId).ToListAsync())
            rows.Add($"P {p.Account.UserNumber} {p.UserNumber} {p.Channel} {p.ChannelTransactionId} {p.AmountFen} {p.PaidAt:O} " +
                $"{p.CreditAddedFen} {p.OutstandingAfterFen} {p.CreditAfterFen} {p.ReversedAt} {p.ReversalCreditTakenFen}");
        foreach (var a in await db.Allocations.AsNoTracking().Include(a => a.Receivable).Include(a => a.Payment).OrderBy(a => a.Id).ToListAsync())
            rows.Add($"A {a.Receivable.BillId} {a.Source} {a.Payment?.ChannelTransactionId} {a.AmountFen} {a.UndoesAllocationId}");
        foreach (var r in await db.Receivables.AsNoTracking().OrderBy(r => r.Id).ToListAsync())
            rows.Add($"R {r.BillId} {r.PaidFen}");
        foreach (var a in await db.LedgerAccounts.AsNoTracking().OrderBy(a => a.Id).ToListAsync())
            rows.Add($"L {a.UserNumber} {a.CreditFen} {a.Version}");
        return rows;
    });

    private static PostPaymentRequest Payment(string userNumber, long amountFen, string transaction) => new()
    {
        UserNumber = userNumber,
        Channel = "alipay",
        ChannelTransactionId = transaction,
        AmountFen = amountFen,
        PaidAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 10, 8, 9, 30, 0, TimeSpan.FromHours(8))),
    };
}
