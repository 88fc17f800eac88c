using Microsoft.Extensions.Options;

namespace Metering.Hosting.Security;

public enum KeyCheck { Valid, Unknown, Expired, Revoked }

/// <summary>The keys a service accepts: configured ones (re-read when the configuration reloads) plus, when turned on, the development keys.</summary>
public sealed class ApiKeyStore
{
    private readonly IOptionsMonitor<SecurityOptions> _options;
    private readonly TimeProvider _time;
    private volatile Dictionary<string, ApiKeyEntry[]> _byId;

    public ApiKeyStore(IOptionsMonitor<SecurityOptions> options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _byId = Build(options.CurrentValue);
        options.OnChange(o =>
        {
            // A broken reload keeps the keys that worked rather than locking everybody out.
            try { _byId = Build(o); }
            catch (InvalidOperationException) { }
        });
    }

    /// <summary>The development keys of the security contract: <c>dev-&lt;name&gt;.&lt;name&gt;-dev-secret</c>.</summary>
    public static IReadOnlyList<(string Id, string Role, string Secret)> DevelopmentKeys { get; } =
        new[] { Roles.Operator, Roles.Admin, Roles.Auditor }
            .Select(r => ($"dev-{r}", r, $"{r}-dev-secret"))
            .Concat(Roles.Channels.Select(c => ($"dev-{c}", Roles.Channel(c), $"{c}-dev-secret")))
            .ToArray();

    public bool HasKeys => _byId.Count > 0;

    public bool HasConfiguredKeys => _options.CurrentValue.Keys.Count > 0;

    /// <summary>Checks a header value <c>keyId.secret</c>.</summary>
    public KeyCheck Check(string header, out string keyId, out string role)
    {
        keyId = "";
        role = "";
        var dot = header.IndexOf('.');
        if (dot <= 0 || dot == header.Length - 1)
            return KeyCheck.Unknown;
        var id = header[..dot];
        var secret = header[(dot + 1)..];
        if (!_byId.TryGetValue(id, out var entries))
            return KeyCheck.Unknown;

        var now = _time.GetUtcNow();
        var result = KeyCheck.Unknown;
        foreach (var entry in entries)
        {
            if (!ApiKeyHasher.Verify(secret, entry.SecretHash))
                continue;
            keyId = id;
            if (entry.RevokedAt is { } revoked && revoked <= now)
                result = KeyCheck.Revoked;
            else if (entry.ExpiresAt is { } expires && expires <= now)
                result = result == KeyCheck.Revoked ? result : KeyCheck.Expired;
            else
            {
                role = entry.Role;
                return KeyCheck.Valid;
            }
        }
        return result;
    }

    internal static Dictionary<string, ApiKeyEntry[]> Build(SecurityOptions options)
    {
        var entries = new List<ApiKeyEntry>();
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            var where = $"Security:Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Id) || key.Id.Contains('.'))
                throw new InvalidOperationException($"{where}:Id is required and may not contain '.'");
            if (!Roles.IsValid(key.Role))
                throw new InvalidOperationException(
                    $"{where}:Role '{key.Role}' is not operator, admin, auditor or channel:<{string.Join("|", Roles.Channels)}>");
            if (key.SecretHash.Split(':').Length != 3)
                throw new InvalidOperationException($"{where}:SecretHash must be a 'sha256:<salt>:<hash>' value (see docs/security.md)");
            entries.Add(key);
        }
        if (options.DevelopmentKeys)
            entries.AddRange(DevelopmentKeys.Select(k => new ApiKeyEntry { Id = k.Id, Role = k.Role, SecretHash = ApiKeyHasher.Hash(k.Secret) }));

        var byId = entries.GroupBy(e => e.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        foreach (var (id, keys) in byId)
        {
            if (keys.Select(k => k.Role).Distinct().Count() > 1)
                throw new InvalidOperationException($"Security:Keys: the entries of key id '{id}' name different roles");
            if (keys.Count(k => k.RevokedAt is null) > 2)
                throw new InvalidOperationException($"Security:Keys: key id '{id}' has more than two live secrets (two are allowed while rotating)");
        }
        return byId;
    }
}
