using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Metering.Hosting.Security;

/// <summary>Authenticates the <c>x-api-key: keyId.secret</c> header. The secret is never logged; the key id is.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "x-api-key";
    public const string KeyIdClaim = "metering:key_id";
    internal const string FailureItem = "metering:auth_failure";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var values) || values.Count == 0 || string.IsNullOrEmpty(values[0]))
            return Task.FromResult(AuthenticateResult.NoResult());

        var check = keys.Check(values[0]!, out var keyId, out var role);
        if (check != KeyCheck.Valid)
        {
            var reason = check switch
            {
                KeyCheck.Expired => "the API key has expired",
                KeyCheck.Revoked => "the API key has been revoked",
                _ => "the API key is not valid",
            };
            Context.Items[FailureItem] = reason;
            Logger.LogWarning("Rejected API key {KeyId}: {Reason}", check == KeyCheck.Unknown ? "(unknown)" : keyId, reason);
            return Task.FromResult(AuthenticateResult.Fail(reason));
        }

        var identity = new ClaimsIdentity(
            [new Claim(KeyIdClaim, keyId), new Claim(ClaimTypes.Name, keyId), new Claim(ClaimTypes.Role, role)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}

/// <summary>Who is calling, as the interceptor and the audit trail see it.</summary>
public sealed record Caller(string KeyId, string Role)
{
    public string? Channel => Roles.ChannelOf(Role);

    public static Caller? From(ClaimsPrincipal? user)
    {
        if (user?.Identity?.IsAuthenticated != true)
            return null;
        var id = user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim);
        var role = user.FindFirstValue(ClaimTypes.Role);
        return id is null || role is null ? null : new Caller(id, role);
    }
}
