using MassTransit;
using System.Text.Json;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Readings.Data;
using Metering.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Metering.Readings.Tests;

/// <summary>
/// The Readings service in-process, with a clock whose "today" is <see cref="Today"/> in the
/// utility's zone, so that the readings of the thin flow (2026) are never in the future.
/// </summary>
public sealed class ReadingsHost : ServiceFactory<ReadingsModule>
{
    public ReadingsHost()
    {
    }

    /// <param name="settings">Configuration for this host (e.g. <c>Readings:SqliteFastPath</c>).</param>
    /// <param name="services">Replacements of the service's own parts, applied after its registrations.</param>
    public ReadingsHost(IDictionary<string, string?> settings, Action<IServiceCollection>? services = null) : base(settings)
    {
        _services = services;
    }

    private readonly Action<IServiceCollection>? _services;

    public static readonly DateOnly Today = new(2026, 11, 28);

    // 10:00 in Liaocheng (UTC+8); the clock then runs on in real time.
    public static readonly DateTimeOffset Now = new(2026, 11, 28, 2, 0, 0, TimeSpan.Zero);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(new ShiftedClock(Now));
            _services?.Invoke(services);
        });
    }

    public static string UserNumberFor(long body) => UserNumber.FromBody(body).Value;

    public static AccountOpened Opened(string userNumber, long initialRegisterLitres = 0, string openedOn = "2026-01-01",
        string? meterSerial = null) =>
        new(userNumber, "张三明", "东昌府区 幸福小区 3号楼 2单元 301", "13800000001", 3, meterSerial ?? $"M-{userNumber}",
            initialRegisterLitres, DateOnly.Parse(openedOn), Now);

    /// <summary>Publishes <c>AccountOpened</c> on the host's (in-memory) bus, as Accounts would, and waits until Readings knows the account.</summary>
    public async Task<string> OpenAccountAsync(long body = 100_000_001, long initialRegisterLitres = 0, string openedOn = "2026-01-01")
    {
        var userNumber = UserNumberFor(body);
        await PublishAsync(Opened(userNumber, initialRegisterLitres, openedOn));
        return await WaitForAccountAsync(userNumber);
    }

    public async Task<string> WaitForAccountAsync(string userNumber)
    {
        await Eventually.Get(() => QueryAsync(db => db.Accounts.AnyAsync(a => a.UserNumber == userNumber)),
            known => known, what: $"account {userNumber} to reach Readings");
        return userNumber;
    }

    /// <summary>Publishes any event on the host's bus, as another service would.</summary>
    public async Task PublishEventAsync<T>(T message) where T : class
    {
        _ = Server;
        await Services.GetRequiredService<IBus>().Publish(message);
    }

    /// <summary>
    /// What Billing is told about an account's consumption, from the outbox: every accepted reading (single or
    /// in a batch) plus, for each correction, new − old.
    /// </summary>
    public async Task<long> BilledLitresAsync(string userNumber)
    {
        var rows = await QueryAsync(db => db.OutboxMessages.AsNoTracking().OrderBy(m => m.Id).ToListAsync());
        long total = 0;
        foreach (var row in rows)
        {
            if (row.MessageType.StartsWith(typeof(ReadingAccepted).FullName + ","))
            {
                var e = JsonSerializer.Deserialize<ReadingAccepted>(row.Body)!;
                if (e.UserNumber == userNumber) total += e.ConsumptionLitres;
            }
            else if (row.MessageType.StartsWith(typeof(ReadingBatchAccepted).FullName + ","))
            {
                total += JsonSerializer.Deserialize<ReadingBatchAccepted>(row.Body)!.Readings
                    .Where(r => r.UserNumber == userNumber).Sum(r => r.ConsumptionLitres);
            }
            else if (row.MessageType.StartsWith(typeof(ReadingCorrected).FullName + ","))
            {
                var e = JsonSerializer.Deserialize<ReadingCorrected>(row.Body)!;
                if (e.UserNumber == userNumber) total += e.NewConsumptionLitres - e.OldConsumptionLitres;
            }
        }
        return total;
    }

    /// <summary>The outbox's events of type <typeparamref name="T"/>, in the order written.</summary>
    public async Task<List<T>> EventsAsync<T>()
    {
        var rows = await QueryAsync(db => db.OutboxMessages.AsNoTracking()
            .Where(m => m.MessageType.StartsWith(typeof(T).FullName + ",")).OrderBy(m => m.Id).ToListAsync());
        return rows.Select(r => JsonSerializer.Deserialize<T>(r.Body)!).ToList();
    }

    public async Task PublishAsync(AccountOpened message, Guid? messageId = null)
    {
        _ = Server; // starts the host (and its bus)
        var bus = Services.GetRequiredService<IBus>();
        await bus.Publish(message, context =>
        {
            if (messageId is { } id)
                context.MessageId = id;
        });
    }

    public async Task<T> QueryAsync<T>(Func<ReadingsDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<ReadingsDbContext>());
    }

    /// <summary>What a refusal must leave untouched.</summary>
    public Task<(int Accounts, int Readings, int Outbox)> CountRowsAsync() => QueryAsync(async db =>
        (await db.Accounts.CountAsync(), await db.Readings.CountAsync(), await db.OutboxMessages.CountAsync()));
}

/// <summary>Real time moved to a chosen instant: time still passes (the outbox relay's leases work), the date is fixed.</summary>
public sealed class ShiftedClock(DateTimeOffset start) : TimeProvider
{
    private readonly TimeSpan _shift = start - System.GetUtcNow();

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + _shift;
}
