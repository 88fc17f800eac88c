using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using Metering.Hosting.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Metering.Hosting.Security;

/// <summary>
/// Per-key limits for outside callers: a token bucket on channel keys' calls, and failed look-ups
/// (NOT_FOUND answers to reads) counted per key, logged, and answered more slowly past a threshold,
/// so walking through user numbers is slow and visible.
/// </summary>
public sealed class AbuseLimits : IDisposable
{
    private static readonly Counter<long> FailedLookups =
        MeteringTelemetry.Meter.CreateCounter<long>("metering.security.failed_lookups", "{lookup}", "Reads answered NOT_FOUND, per key");
    private static readonly Counter<long> Throttled =
        MeteringTelemetry.Meter.CreateCounter<long>("metering.security.rate_limited", "{call}", "Calls refused by the per-key rate limit");

    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly ConcurrentDictionary<string, LookupWindow> _lookups = new(StringComparer.Ordinal);
    private readonly SecurityOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AbuseLimits> _logger;

    public AbuseLimits(IOptions<SecurityOptions> options, TimeProvider time, ILogger<AbuseLimits> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        var permits = Math.Max(1, _options.ChannelRateLimit.PermitsPerSecond);
        PermitsPerSecond = permits;
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ =>
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = permits,
                TokensPerPeriod = permits,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                AutoReplenishment = true,
                QueueLimit = 0,
            }), StringComparer.Ordinal);
    }

    public int PermitsPerSecond { get; }

    /// <summary>False when the key has used up its calls for now.</summary>
    public bool TryAcquire(string keyId)
    {
        using var lease = _limiter.AttemptAcquire(keyId);
        if (lease.IsAcquired)
            return true;
        Throttled.Add(1);
        return false;
    }

    /// <summary>Counts a failed look-up and returns how long to hold the answer back.</summary>
    public TimeSpan FailedLookup(string keyId, string method)
    {
        var now = _time.GetUtcNow();
        var window = _lookups.AddOrUpdate(keyId,
            _ => new LookupWindow(now, 1),
            (_, w) => now - w.Start > _options.FailedLookupWindow ? new LookupWindow(now, 1) : w with { Count = w.Count + 1 });
        FailedLookups.Add(1, new KeyValuePair<string, object?>("key_id", keyId));
        var over = window.Count - _options.FailedLookupsBeforeDelay;
        if (over <= 0)
        {
            _logger.LogInformation("Key {KeyId} failed look-up {Count} on {Method}", keyId, window.Count, method);
            return TimeSpan.Zero;
        }
        _logger.LogWarning("Key {KeyId} failed look-up {Count} on {Method} within {Window}: answers slowed",
            keyId, window.Count, method, _options.FailedLookupWindow);
        return TimeSpan.FromMilliseconds(Math.Min(5000, 100 * over));
    }

    public int FailedLookupCount(string keyId) => _lookups.TryGetValue(keyId, out var w) ? w.Count : 0;

    public void Dispose() => _limiter.Dispose();

    private sealed record LookupWindow(DateTimeOffset Start, int Count);
}
