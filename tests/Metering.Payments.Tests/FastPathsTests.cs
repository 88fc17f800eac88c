using Google.Protobuf.WellKnownTypes;
using Metering.Contracts.Events;
using Metering.Contracts.Payments.V1;
using Metering.Payments.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Metering.Payments.Tests;

/// <summary>The prepared-command paths on SQLite answer and write exactly what the EF Core paths did.</summary>
public sealed class FastPathsTests : IDisposable
{
    private readonly LedgerHost _ledger = new();

    public void Dispose() => _ledger.Dispose();

    [Fact]
    public async Task The_prepared_balance_reader_answers_what_the_EF_query_answers()
    {
        var alice = LedgerHost.UserNumberFor(1);
        var bob = LedgerHost.UserNumberFor(2);
        var carol = LedgerHost.UserNumberFor(3);
        await _ledger.OpenAccountAsync(alice);
        await _ledger.OpenAccountAsync(bob, "欧阳小明");
        var bills = LedgerHost.ThreeQuarters(alice);
        // Issued out of period order: the answer is still oldest first.
        await _ledger.IssueAsync(bills[2], bills[0], bills[1]);
        await _ledger.CancelAsync(bills[1]);
        await _ledger.Client.PostPaymentAsync(Payment(alice, 10_000, "A-1"));
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(bob)[0]);
        await _ledger.Client.PostPaymentAsync(Payment(bob, 40_000, "B-1")); // overpaid: credit, no open bill
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(carol)[0]); // holder not known yet

        var reader = _ledger.Factory.Services.GetRequiredService<BalanceReader>();
        foreach (var userNumber in new[] { alice, bob, carol, "9999999999" })
        {
            var expected = await _ledger.QueryAsync(db => BalanceReader.ReadWithEfAsync(db, userNumber, CancellationToken.None));
            var actual = reader.ReadWithSqlite(userNumber);
            Assert.Equal(expected is null, actual is null);
            if (expected is null || actual is null)
                continue;
            Assert.Equal((expected.CreditFen, expected.HolderName, expected.Address, expected.OutstandingFen),
                (actual.CreditFen, actual.HolderName, actual.Address, actual.OutstandingFen));
            Assert.Equal(expected.Unpaid, actual.Unpaid);
        }

        var aliceNow = reader.ReadWithSqlite(alice)!;
        Assert.Equal([bills[0].BillId, bills[2].BillId], aliceNow.Unpaid.Select(r => r.BillId));
        Assert.Equal(33_200 + 52_290 - 10_000, aliceNow.OutstandingFen);
        Assert.Equal((6_800L, 0), (reader.ReadWithSqlite(bob)!.CreditFen, reader.ReadWithSqlite(bob)!.Unpaid.Count));
    }

    [Fact]
    public async Task A_run_of_hundreds_of_bills_is_taken_once_whatever_carries_it_again()
    {
        // 500 bills over 250 accounts: half opened by Accounts, half that Billing's event reaches first.
        for (var serial = 1; serial <= 125; serial++)
            await _ledger.QueryAsync(async db =>
            {
                db.LedgerAccounts.Add(new LedgerAccount { UserNumber = LedgerHost.UserNumberFor(serial), HolderName = "张三明" });
                return await db.SaveChangesAsync();
            });
        var bills = Enumerable.Range(1, 250).SelectMany(serial => LedgerHost.ThreeQuarters(LedgerHost.UserNumberFor(serial))[..2]).ToArray();
        var run = new BillIssued(Guid.NewGuid(), [.. bills, bills[0]], DateTimeOffset.UtcNow); // one bill twice in the message

        await _ledger.IssueAsync(run, Guid.NewGuid());
        var first = await _ledger.CountAsync();
        var versions = await _ledger.QueryAsync(db => db.LedgerAccounts.OrderBy(a => a.Id).Select(a => a.Version).ToListAsync());

        // The same bills again under other message ids (a resumed run), whole and in part.
        await _ledger.IssueAsync(run, Guid.NewGuid());
        await _ledger.IssueAsync(new BillIssued(Guid.NewGuid(), bills[100..300], DateTimeOffset.UtcNow), Guid.NewGuid());

        Assert.Equal((250, 500), (first.Accounts, first.Receivables));
        Assert.Equal(first, await _ledger.CountAsync());
        Assert.All(versions, v => Assert.Equal(1, v)); // touched once per message, however many bills it got
        Assert.Equal(versions, await _ledger.QueryAsync(db => db.LedgerAccounts.OrderBy(a => a.Id).Select(a => a.Version).ToListAsync()));

        var stored = await _ledger.QueryAsync(db => db.Receivables.AsNoTracking().Include(r => r.Account).SingleAsync(r => r.BillId == bills[3].BillId));
        Assert.Equal((bills[3].UserNumber, run.RunId, bills[3].PeriodStart, bills[3].PeriodEnd, bills[3].VolumeLitres, bills[3].AmountFen,
                0L, bills[3].DueDate, run.OccurredAt.UtcDateTime, (DateTime?)null),
            (stored.Account.UserNumber, stored.RunId, stored.PeriodStart, stored.PeriodEnd, stored.VolumeLitres, stored.AmountFen,
                stored.PaidFen, stored.DueDate, stored.IssuedAt, stored.CancelledAt));
        var balance = await _ledger.Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = LedgerHost.UserNumberFor(200) });
        Assert.Equal((33_200L + 17_158L, 2), (balance.OutstandingFen, balance.UnpaidBills.Count));
    }

    [Fact]
    public async Task Credit_pays_bills_written_in_bulk_and_a_negative_bill_adds_to_it()
    {
        var alice = LedgerHost.UserNumberFor(1);
        var bob = LedgerHost.UserNumberFor(2);
        await _ledger.OpenAccountAsync(alice);
        await _ledger.OpenAccountAsync(bob);
        await _ledger.IssueAsync(LedgerHost.Bill(alice, LedgerHost.YearStart, new DateOnly(2026, 1, 31), 1_000, 1_000));
        await _ledger.Client.PostPaymentAsync(Payment(alice, 21_000, "A-1")); // 20 000 credit

        var quarters = LedgerHost.ThreeQuarters(alice);
        await _ledger.IssueAsync(quarters[0], quarters[1],
            LedgerHost.Bill(bob, LedgerHost.YearStart, new DateOnly(2026, 3, 31), -1_000, -332));

        var alices = await _ledger.Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = alice });
        Assert.Equal((33_200L + 17_158L - 20_000L, 0L), (alices.OutstandingFen, alices.CreditFen));
        Assert.Equal([quarters[0].BillId.ToString()], alices.UnpaidBills.Select(b => b.BillId).Take(1));
        Assert.Equal(13_200, alices.UnpaidBills[0].OutstandingFen);
        var bobs = await _ledger.Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = bob });
        Assert.Equal((0L, 332L), (bobs.OutstandingFen, bobs.CreditFen));
        var allocated = await _ledger.OutboxAsync<PaymentAllocated>();
        Assert.Contains(allocated, a => a.PaymentId is null && a.UserNumber == alice && a.Allocations.Sum(l => l.AmountFen) == 20_000);
    }

    private static PostPaymentRequest Payment(string userNumber, long amountFen, string transaction) => new()
    {
        UserNumber = userNumber,
        Channel = "counter",
        ChannelTransactionId = transaction,
        AmountFen = amountFen,
        PaidAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 10, 8, 9, 30, 0, TimeSpan.FromHours(8))),
    };
}
