using System.Collections.Concurrent;
using MassTransit;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Payments.Data;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using PaymentsClient = Metering.Contracts.Payments.V1.Payments.PaymentsClient;

namespace Metering.Payments.Tests;

/// <summary>Everything the ledger holds, to show that a refusal or a replay wrote nothing.</summary>
public sealed record LedgerCounts(
    int Accounts, int Receivables, int Payments, int Allocations, int OutboxMessages, long PaidFen, long CreditFen);

/// <summary>
/// The Payments service in-process, fed with other services' events through its own bus, the way
/// Accounts and Billing reach it in production.
/// </summary>
public sealed class LedgerHost : IDisposable
{
    public static readonly DateOnly YearStart = new(2026, 1, 1);

    private readonly ServiceFactory<PaymentsModule> _host;
    private readonly ConsumedMessages _consumed = new();
    private bool _observing;

    public LedgerHost(IDictionary<string, string?>? settings = null) => _host = new ServiceFactory<PaymentsModule>(settings);

    public ServiceFactory<PaymentsModule> Factory => _host;

    public PaymentsClient Client => new(_host.Channel);

    public IBus Bus
    {
        get
        {
            var bus = _host.Services.GetRequiredService<IBus>();
            if (!_observing)
            {
                bus.ConnectConsumeObserver(_consumed);
                _observing = true;
            }
            return bus;
        }
    }

    public void Dispose() => _host.Dispose();

    public static string UserNumberFor(long serial) => UserNumber.FromBody(100_000_000 + serial).Value;

    public async Task OpenAccountAsync(string userNumber, string holder = "张三明")
    {
        await Bus.Publish(new AccountOpened(userNumber, holder, "东昌府区 幸福小区 3号楼 2单元 301", "13800000001", 3,
            $"M-{userNumber}", 0, YearStart, DateTimeOffset.UtcNow));
        await Eventually.Get(() => QueryAsync(db => db.LedgerAccounts.AnyAsync(a => a.UserNumber == userNumber && a.HolderName != null)),
            found => found, what: $"the ledger account of {userNumber}");
    }

    public static IssuedBill Bill(string userNumber, DateOnly periodStart, DateOnly periodEnd, long volumeLitres, long amountFen) =>
        new(Guid.NewGuid(), userNumber, periodStart, periodEnd, volumeLitres, amountFen, periodEnd.AddDays(30));

    /// <summary>The thin flow's three bills: readings of 100 000, 150 000 and 260 000 L in 2026.</summary>
    public static IssuedBill[] ThreeQuarters(string userNumber) =>
    [
        Bill(userNumber, YearStart, new DateOnly(2026, 3, 31), 100_000, 33_200),
        Bill(userNumber, new DateOnly(2026, 3, 31), new DateOnly(2026, 6, 30), 50_000, 17_158),
        Bill(userNumber, new DateOnly(2026, 6, 30), new DateOnly(2026, 9, 30), 110_000, 52_290),
    ];

    /// <summary>Publishes one billing run's <c>BillIssued</c> and waits until its message has been consumed.</summary>
    public async Task<Guid> IssueAsync(params IssuedBill[] bills) =>
        await IssueAsync(new BillIssued(Guid.NewGuid(), bills, DateTimeOffset.UtcNow), NewId.NextGuid());

    public Task<Guid> IssueAsync(BillIssued message, Guid messageId) => DeliverAsync(message, messageId);

    /// <summary>Publishes <c>BillCancelled</c> for <paramref name="bill"/> and waits until it has been consumed.</summary>
    public Task<Guid> CancelAsync(IssuedBill bill, Guid? replacedBy = null) =>
        DeliverAsync(new BillCancelled(bill.BillId, bill.UserNumber, bill.AmountFen, "reading corrected", replacedBy,
            DateTimeOffset.UtcNow), NewId.NextGuid());

    public async Task<Guid> DeliverAsync<T>(T message, Guid messageId) where T : class
    {
        var before = _consumed.Count(messageId);
        await Bus.Publish(message, context => context.MessageId = messageId);
        await Eventually.Get(() => Task.FromResult(_consumed.Count(messageId)), n => n > before,
            what: $"{typeof(T).Name} {messageId} to be consumed");
        return messageId;
    }

    /// <summary>The events of one type in the outbox, oldest first.</summary>
    public Task<List<T>> OutboxAsync<T>() => QueryAsync(async db =>
        (await db.OutboxMessages.OrderBy(m => m.Id).ToListAsync())
            .Where(m => m.MessageType.StartsWith(typeof(T).FullName + ",", StringComparison.Ordinal))
            .Select(m => System.Text.Json.JsonSerializer.Deserialize<T>(m.Body)!)
            .ToList());

    public async Task<T> QueryAsync<T>(Func<PaymentsDbContext, Task<T>> query)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<PaymentsDbContext>());
    }

    public Task<LedgerCounts> CountAsync() => QueryAsync(async db => new LedgerCounts(
        await db.LedgerAccounts.CountAsync(),
        await db.Receivables.CountAsync(),
        await db.Payments.CountAsync(),
        await db.Allocations.CountAsync(),
        await db.OutboxMessages.CountAsync(),
        await db.Receivables.SumAsync(r => r.PaidFen),
        await db.LedgerAccounts.SumAsync(a => a.CreditFen)));
}

/// <summary>Counts successful consumptions per message id, including those the inbox turned into no-ops.</summary>
public sealed class ConsumedMessages : IConsumeObserver
{
    private readonly ConcurrentDictionary<Guid, int> _counts = new();

    public int Count(Guid messageId) => _counts.GetValueOrDefault(messageId);

    public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context) where T : class
    {
        if (context.MessageId is { } id)
            _counts.AddOrUpdate(id, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
