using Google.Protobuf.WellKnownTypes;
using Metering.Contracts.Events;
using Metering.Contracts.Payments.V1;
using Metering.Payments.Data;
using Microsoft.EntityFrameworkCore;

namespace Metering.Payments.Tests;

/// <summary>
/// BillIssued on SQLite's raw-handle path (<see cref="ReceivableBulkWriter"/>, the default) against the EF Core path
/// that SQL Server takes (<c>Payments:PreparedBills=false</c>): the same messages give the same ledger rows,
/// balances and events, through known and unknown accounts, credit, a cancellation that overtook its bill, a bill
/// twice in one message and a message delivered again.
/// </summary>
public sealed class BillPathEquivalenceTests : IDisposable
{
    private readonly LedgerHost _raw = new();
    private readonly LedgerHost _ef = new(new Dictionary<string, string?> { ["Payments:PreparedBills"] = "false" });

    public void Dispose()
    {
        _raw.Dispose();
        _ef.Dispose();
    }

    [Fact]
    public async Task Bills_written_on_the_raw_SQLite_handle_make_the_ledger_the_EF_path_makes()
    {
        var alice = LedgerHost.UserNumberFor(1);
        var bob = LedgerHost.UserNumberFor(2);
        var carol = LedgerHost.UserNumberFor(3);
        var dave = LedgerHost.UserNumberFor(4);
        var aliceBills = LedgerHost.ThreeQuarters(alice);
        var bobBills = LedgerHost.ThreeQuarters(bob);
        var carolBills = LedgerHost.ThreeQuarters(carol);
        var daveBills = new[]
        {
            LedgerHost.Bill(dave, LedgerHost.YearStart, new DateOnly(2026, 3, 31), 100_000, 33_200),
            LedgerHost.Bill(dave, new DateOnly(2026, 3, 31), new DateOnly(2026, 4, 30), -10_000, -3_320),
        };
        // Enough other accounts that the message spans several of the writer's statements, with a short last one:
        // those of even serial are opened by Accounts first, the others reach the ledger through their bill.
        var others = Enumerable.Range(10, 2 * ReceivableBulkWriter.RowsPerInsert).Select(i => LedgerHost.UserNumberFor(i)).ToArray();
        var othersBills = others.Select(u => LedgerHost.ThreeQuarters(u)[0]).ToArray();
        IssuedBill[] bills =
        [
            aliceBills[2], aliceBills[0], // out of period order: credit and balances still go oldest first
            .. othersBills[..60],
            bobBills[0], bobBills[1], // Bob holds credit: it pays these
            carolBills[0], // cancelled before it arrived: stays cancelled, never owed
            .. othersBills[60..],
            daveBills[0], daveBills[1], // unknown account; its negative bill is credit for the other
            aliceBills[1], carolBills[1],
            aliceBills[0], // twice in the message
        ];
        var run = new BillIssued(Guid.NewGuid(), bills, new DateTimeOffset(2026, 10, 1, 2, 0, 0, TimeSpan.Zero));
        var messageId = Guid.NewGuid();
        var later = new BillIssued(Guid.NewGuid(), [carolBills[2], bobBills[2], .. othersBills[^5..]], DateTimeOffset.UtcNow);

        foreach (var ledger in new[] { _raw, _ef })
        {
            await ledger.OpenAccountAsync(alice);
            await ledger.OpenAccountAsync(bob, "欧阳小明");
            await ledger.OpenAccountAsync(carol);
            foreach (var other in others.Where((_, i) => i % 2 == 0))
                await ledger.OpenAccountAsync(other);
            await ledger.Client.PostPaymentAsync(Payment(bob, 40_000, "B-1")); // no bill yet: all credit
            await ledger.CancelAsync(carolBills[0]);

            await ledger.IssueAsync(run, messageId);
            await ledger.IssueAsync(run, messageId); // delivered again: the inbox turns it into a no-op
            await ledger.IssueAsync(run, Guid.NewGuid()); // the same bills in another message: each is known
            await ledger.IssueAsync(later, Guid.NewGuid());
        }

        Assert.Equal(await _ef.CountAsync(), await _raw.CountAsync());
        Assert.Equal(await ReceivablesAsync(_ef), await ReceivablesAsync(_raw));
        Assert.Equal(await IssueOrderAsync(_ef), await IssueOrderAsync(_raw));
        Assert.Equal(await AccountsAsync(_ef), await AccountsAsync(_raw));
        Assert.Equal(await AllocationsAsync(_ef), await AllocationsAsync(_raw));
        Assert.Equal(await CreditEventsAsync(_ef), await CreditEventsAsync(_raw));
        foreach (var userNumber in new[] { alice, bob, carol, dave, others[0], others[1], others[^1] })
            Assert.Equal(await BalanceAsync(_ef, userNumber), await BalanceAsync(_raw, userNumber));

        // The rules themselves, so that both paths are not merely equally wrong.
        var counts = await _raw.CountAsync();
        Assert.Equal(3 + 3 + 3 + 2 + others.Length, counts.Receivables);
        Assert.Equal(4 + others.Length, counts.Accounts);
        Assert.Equal((33_200L + 17_158L + 52_290L - 40_000L, 0L), await BalanceAsync(_raw, bob));
        Assert.Equal((33_200L - 3_320L, 0L), await BalanceAsync(_raw, dave));
        Assert.Equal((17_158L + 52_290L, 0L), await BalanceAsync(_raw, carol));
    }

    private static async Task<(long OutstandingFen, long CreditFen)> BalanceAsync(LedgerHost ledger, string userNumber)
    {
        var balance = await ledger.Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber });
        return (balance.OutstandingFen, balance.CreditFen);
    }

    /// <summary>Every receivable as stored, by bill id (ids are the same on both sides only per account, see <see cref="IssueOrderAsync"/>).</summary>
    private static Task<List<string>> ReceivablesAsync(LedgerHost ledger) => ledger.QueryAsync(async db =>
        (await db.Receivables.AsNoTracking().Include(r => r.Account).ToListAsync())
        .OrderBy(r => r.BillId)
        .Select(r => string.Join('|', r.BillId, r.Account.UserNumber, r.RunId, r.PeriodStart, r.PeriodEnd, r.VolumeLitres,
                        r.AmountFen, r.PaidFen, r.DueDate,
            // A cancellation that overtook its bill is stamped with each host's own clock.
            r.CancelledAt is null ? r.IssuedAt.ToString("O") : "cancelled"))
        .ToList());

    /// <summary>
    /// Each account's bills in issue order (receivable ids), which breaks ties between bills of one period end. Across
    /// accounts the ids may interleave differently: a bill that opened its account goes in after its statement's others.
    /// </summary>
    private static Task<List<string>> IssueOrderAsync(LedgerHost ledger) => ledger.QueryAsync(async db =>
        (await db.Receivables.AsNoTracking().Include(r => r.Account).OrderBy(r => r.Id).ToListAsync())
        .GroupBy(r => r.Account.UserNumber)
        .OrderBy(g => g.Key)
        .Select(g => g.Key + ": " + string.Join(',', g.Select(r => r.BillId)))
        .ToList());

    private static Task<List<string>> AccountsAsync(LedgerHost ledger) => ledger.QueryAsync(async db =>
        (await db.LedgerAccounts.AsNoTracking().OrderBy(a => a.UserNumber).ToListAsync())
        .Select(a => string.Join('|', a.UserNumber, a.HolderName, a.Address, a.OpenedOn, a.CreditFen, a.Version))
        .ToList());

    private static Task<List<string>> AllocationsAsync(LedgerHost ledger) => ledger.QueryAsync(async db =>
        (await db.Allocations.AsNoTracking().Include(a => a.Receivable).Include(a => a.Payment).ToListAsync())
        .Select(a => string.Join('|', a.Receivable.BillId, a.Source, a.Payment?.ChannelTransactionId, a.AmountFen))
        .Order(StringComparer.Ordinal)
        .ToList());

    /// <summary>Credit applied to new bills, per account (the relay publishes events of different accounts in any order).</summary>
    private static async Task<List<string>> CreditEventsAsync(LedgerHost ledger) =>
        (await ledger.OutboxAsync<PaymentAllocated>())
        .Where(e => e.PaymentId is null)
        .Select(e => string.Join('|', e.UserNumber, e.BalanceFen, string.Join(',', e.Allocations.Select(l => $"{l.BillId}:{l.AmountFen}"))))
        .Order(StringComparer.Ordinal)
        .ToList();

    private static PostPaymentRequest Payment(string userNumber, long amountFen, string transaction) => new()
    {
        UserNumber = userNumber,
        Channel = "counter",
        ChannelTransactionId = transaction,
        AmountFen = amountFen,
        PaidAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 10, 8, 9, 30, 0, TimeSpan.FromHours(8))),
    };
}
