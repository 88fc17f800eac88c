using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Metering.Hosting.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Metering.Hosting.Messaging;

public sealed class OutboxOptions
{
    /// <summary>False only in tests that need committed-but-unpublished rows (a crash before the relay ran).</summary>
    public bool RelayEnabled { get; set; } = true;

    public int BatchSize { get; set; } = 200;

    /// <summary>Fallback poll when no commit signalled (rows written by another replica, or a failed publish).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a relay owns claimed rows; a relay that dies leaves them to another after this.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Sent rows and inbox records older than this are deleted.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
}

public static class OutboxRelayRegistration
{
    public static IServiceCollection AddOutboxRelay<TContext>(this IServiceCollection services, IConfiguration configuration)
        where TContext : MessagingDbContext
    {
        services.AddOptions<OutboxOptions>().Bind(configuration.GetSection("Outbox"));
        // The relay's clock (leases, clean-up); a module or a test may register its own.
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<OutboxRelay<TContext>>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay<TContext>>());
        return services;
    }
}

/// <summary>
/// Publishes committed outbox rows and marks them sent. A crash between commit and publish loses
/// nothing (the rows wait); a crash after publish re-sends with the same message id, which the
/// consumers' inbox turns into a no-op.
/// </summary>
public sealed class OutboxRelay<TContext>(
    IServiceScopeFactory scopes,
    IBus bus,
    OutboxSignal<TContext> signal,
    Microsoft.Extensions.Options.IOptions<OutboxOptions> options,
    TimeProvider clock,
    ILogger<OutboxRelay<TContext>> logger) : BackgroundService
    where TContext : MessagingDbContext
{
    private readonly OutboxOptions _options = options.Value;
    private DateTime _nextCleanup = DateTime.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.RelayEnabled)
        {
            logger.LogWarning("Outbox relay of {Context} is disabled: events stay unpublished", typeof(TContext).Name);
            return;
        }

        try
        {
            await WhenHostStartedAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var published = await PublishPendingAsync(stoppingToken);
                await CleanUpAsync(stoppingToken);
                failures = 0;
                if (published >= _options.BatchSize)
                    continue;
                await signal.WaitAsync(_options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 200 * Math.Pow(2, Math.Min(failures, 8))));
                logger.LogError(ex, "Outbox relay of {Context} failed; retrying in {Delay}", typeof(TContext).Name, delay);
                try { await Task.Delay(delay, stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
    }

    /// <summary>
    /// Waits until every hosted service has started, the bus included: the bus binds its queues while it
    /// starts, and rows still pending from before a restart would otherwise be published (and marked
    /// sent) before any queue is there to receive them.
    /// </summary>
    private async Task WhenHostStartedAsync(CancellationToken stoppingToken)
    {
        IHostApplicationLifetime? lifetime;
        using (var scope = scopes.CreateScope())
            lifetime = scope.ServiceProvider.GetService<IHostApplicationLifetime>();
        if (lifetime is null || lifetime.ApplicationStarted.IsCancellationRequested)
            return;

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
    }

    /// <summary>Claims one batch of unsent rows, publishes them in order and marks them sent. Returns how many were sent.</summary>
    public async Task<int> PublishPendingAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var now = clock.GetUtcNow().UtcDateTime;

        var candidates = await db.OutboxMessages
            .Where(m => m.SentAt == null && (m.LockedUntil == null || m.LockedUntil < now))
            .OrderBy(m => m.Id)
            .Select(m => m.Id)
            .Take(_options.BatchSize)
            .ToListAsync(cancellationToken);
        if (candidates.Count == 0)
            return 0;

        // The condition is checked again in the UPDATE, so two relays never both own a row.
        var token = Guid.NewGuid();
        var leaseEnd = now + _options.Lease;
        await db.OutboxMessages
            .Where(m => candidates.Contains(m.Id) && m.SentAt == null && (m.LockedUntil == null || m.LockedUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.LockToken, token).SetProperty(m => m.LockedUntil, leaseEnd),
                cancellationToken);
        var claimed = await db.OutboxMessages.AsNoTracking()
            .Where(m => m.LockToken == token)
            .OrderBy(m => m.Id)
            .ToListAsync(cancellationToken);

        var sent = new List<long>(claimed.Count);
        try
        {
            foreach (var row in claimed)
            {
                await PublishAsync(row, cancellationToken);
                sent.Add(row.Id);
                OutboxMetrics.Published.Add(1, new KeyValuePair<string, object?>("message_type", ShortName(row.MessageType)));
                OutboxMetrics.Lag.Record((clock.GetUtcNow().UtcDateTime - row.CreatedAt).TotalMilliseconds);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var failed = claimed[sent.Count];
            var error = ex.Message.Length > 2000 ? ex.Message[..2000] : ex.Message;
            await db.OutboxMessages.Where(m => m.Id == failed.Id && m.LockToken == token)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(m => m.Attempts, m => m.Attempts + 1)
                    .SetProperty(m => m.LastError, error)
                    .SetProperty(m => m.LockToken, (Guid?)null)
                    .SetProperty(m => m.LockedUntil, (DateTime?)null), CancellationToken.None);
            throw;
        }
        finally
        {
            // Whatever was published is marked, even when a later row failed or we are stopping.
            var sentAt = clock.GetUtcNow().UtcDateTime;
            if (sent.Count > 0)
                await db.OutboxMessages.Where(m => sent.Contains(m.Id))
                    .ExecuteUpdateAsync(s => s
                        .SetProperty(m => m.SentAt, sentAt)
                        .SetProperty(m => m.LockToken, (Guid?)null)
                        .SetProperty(m => m.LockedUntil, (DateTime?)null), CancellationToken.None);
            await db.OutboxMessages.Where(m => m.LockToken == token && m.SentAt == null)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(m => m.LockToken, (Guid?)null)
                    .SetProperty(m => m.LockedUntil, (DateTime?)null), CancellationToken.None);
        }
        return sent.Count;
    }

    private async Task PublishAsync(OutboxMessage row, CancellationToken cancellationToken)
    {
        var type = Type.GetType(row.MessageType, throwOnError: true)!;
        var message = JsonSerializer.Deserialize(row.Body, type, Outbox.Json)
            ?? throw new InvalidOperationException($"outbox row {row.Id} has an empty body");

        // Continue the trace of the request that wrote the row: the bus propagates it to consumers.
        ActivityContext.TryParse(row.TraceParent, null, out var parent);
        using var activity = MeteringTelemetry.Source.StartActivity(
            $"outbox publish {ShortName(row.MessageType)}", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.message.id", row.MessageId);
        activity?.SetTag("metering.outbox.row", row.Id);

        if (row.Destination is null)
        {
            await bus.Publish(message, type, context => context.MessageId = row.MessageId, cancellationToken);
        }
        else
        {
            var endpoint = await bus.GetSendEndpoint(new Uri(row.Destination));
            await endpoint.Send(message, type, context => context.MessageId = row.MessageId, cancellationToken);
        }
    }

    private async Task CleanUpAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (now < _nextCleanup)
            return;
        _nextCleanup = now.AddMinutes(10);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var before = now - _options.Retention;
        await db.OutboxMessages.Where(m => m.SentAt != null && m.SentAt < before).ExecuteDeleteAsync(cancellationToken);
        await db.ProcessedMessages.Where(m => m.ProcessedAt < before).ExecuteDeleteAsync(cancellationToken);
    }

    private static string ShortName(string messageType)
    {
        var comma = messageType.IndexOf(',');
        var fullName = comma < 0 ? messageType : messageType[..comma];
        return fullName[(fullName.LastIndexOf('.') + 1)..];
    }
}
