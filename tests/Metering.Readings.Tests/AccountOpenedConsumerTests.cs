using MassTransit;
using Metering.Contracts.Events;
using Metering.Readings.Data;
using Metering.Readings.Domain;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Metering.Readings.Tests;

public sealed class AccountOpenedConsumerTests : IDisposable
{
    private readonly ReadingsHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task An_opened_account_brings_its_meter_and_the_initial_register_as_first_reading()
    {
        var userNumber = await _host.OpenAccountAsync(initialRegisterLitres: 12_345, openedOn: "2026-02-15");

        var account = await _host.QueryAsync(db => db.Accounts.Include(a => a.Meters).SingleAsync());
        Assert.Equal((userNumber, AccountStatus.Open, new DateOnly(2026, 2, 15)), (account.UserNumber, account.Status, account.OpenedOn));
        var meter = Assert.Single(account.Meters);
        Assert.Equal($"M-{userNumber}", meter.Serial);
        Assert.Equal(100_000_000, meter.CapacityLitres);
        Assert.Equal(12_345, meter.InitialRegisterLitres);
        Assert.Equal(new DateOnly(2026, 2, 15), meter.InstalledOn);
        var initial = await _host.QueryAsync(db => db.Readings.SingleAsync());
        Assert.Equal((ReadingKind.Initial, 1, new DateOnly(2026, 2, 15), 12_345L, 0L, meter.Id),
            (initial.Kind, initial.Sequence, initial.ReadOn, initial.RegisterLitres, initial.ConsumptionLitres, initial.MeterId));
        Assert.Equal(1, account.LastReadingSequence);
        // Projecting is not an event of ours.
        Assert.Equal(0, await _host.QueryAsync(db => db.OutboxMessages.CountAsync()));
    }

    [Fact]
    public async Task AccountOpened_delivered_twice_creates_one_account()
    {
        var consumed = new ConsumedCounter();
        _ = _host.Server;
        using var observer = _host.Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(consumed);
        var message = ReadingsHost.Opened(ReadingsHost.UserNumberFor(100_000_001));
        var messageId = NewId.NextGuid();

        await _host.PublishAsync(message, messageId);
        await _host.PublishAsync(message, messageId);
        await Eventually.Get(() => Task.FromResult(consumed.Count), n => n >= 2, what: "both deliveries to be consumed");

        Assert.Equal((1, 1, 0), await _host.CountRowsAsync());
        Assert.Equal(1, await _host.QueryAsync(db => db.Meters.CountAsync()));
        Assert.Equal(1, await _host.QueryAsync(db => db.ProcessedMessages.CountAsync()));
    }

    [Fact]
    public async Task The_same_account_under_another_message_id_is_not_projected_again()
    {
        var consumed = new ConsumedCounter();
        _ = _host.Server;
        using var observer = _host.Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(consumed);
        var userNumber = ReadingsHost.UserNumberFor(100_000_001);

        await _host.PublishAsync(ReadingsHost.Opened(userNumber, initialRegisterLitres: 0));
        await Eventually.Get(() => Task.FromResult(consumed.Count), n => n >= 1, what: "the first AccountOpened");
        await _host.PublishAsync(ReadingsHost.Opened(userNumber, initialRegisterLitres: 777));
        await Eventually.Get(() => Task.FromResult(consumed.Count), n => n >= 2, what: "the second AccountOpened");

        Assert.Equal((1, 1, 0), await _host.CountRowsAsync());
        Assert.Equal(0, await _host.QueryAsync(db => db.Readings.Select(r => r.RegisterLitres).SingleAsync()));
    }

    private sealed class ConsumedCounter : IConsumeMessageObserver<AccountOpened>
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Task PreConsume(ConsumeContext<AccountOpened> context) => Task.CompletedTask;

        public Task PostConsume(ConsumeContext<AccountOpened> context)
        {
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }

        public Task ConsumeFault(ConsumeContext<AccountOpened> context, Exception exception) => Task.CompletedTask;
    }
}
