namespace Metering.Hosting.Security;

/// <summary>The <c>Security</c> section. Keys are read on every check, so a configuration reload rotates or revokes them.</summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";

    /// <summary>Turns on the well-known development keys (<see cref="DevelopmentKeys"/>): standalone, tests and benchmarks only.</summary>
    public bool DevelopmentKeys { get; set; }

    public List<ApiKeyEntry> Keys { get; set; } = [];

    public ChannelRateLimitOptions ChannelRateLimit { get; set; } = new();

    /// <summary>Failed user-number look-ups a key may make in <see cref="FailedLookupWindow"/> before its answers are slowed.</summary>
    public int FailedLookupsBeforeDelay { get; set; } = 20;

    public TimeSpan FailedLookupWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest gRPC message and HTTP request body a service accepts.</summary>
    public int MaxRequestBytes { get; set; } = 16 * 1024 * 1024;
}

/// <summary>One API key: <c>Security:Keys:&lt;i&gt;:Id|Role|SecretHash|ExpiresAt|RevokedAt</c>. Two entries may share an id while a client rotates.</summary>
public sealed class ApiKeyEntry
{
    public string Id { get; set; } = "";

    /// <summary><c>operator</c>, <c>admin</c>, <c>auditor</c> or <c>channel:&lt;name&gt;</c>.</summary>
    public string Role { get; set; } = "";

    /// <summary>Output of <see cref="ApiKeyHasher.Hash"/>: <c>sha256:&lt;salt&gt;:&lt;hash&gt;</c>, never the secret itself.</summary>
    public string SecretHash { get; set; } = "";

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }
}

public sealed class ChannelRateLimitOptions
{
    /// <summary>Calls per second per channel key on the channel-facing RPCs; also the burst.</summary>
    public int PermitsPerSecond { get; set; } = 50;
}
