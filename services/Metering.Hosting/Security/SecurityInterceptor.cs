using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Metering.Hosting.Security;

/// <summary>
/// Authorisation of every gRPC call (and, through JSON transcoding, every JSON route of an RPC):
/// the caller's key must be valid (UNAUTHENTICATED), its role must be in the RPC's policy and a
/// channel key must act for its own channel (PERMISSION_DENIED), channel keys are rate-limited
/// (RESOURCE_EXHAUSTED), and operator/admin changes are audited once they succeed.
/// </summary>
public sealed class SecurityInterceptor(PolicyTable policies, AbuseLimits limits, AuditTrail audit) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var (rule, caller) = Authorize(context, request);
        if (caller is null)
            return await continuation(request, context);
        try
        {
            var response = await continuation(request, context);
            await AuditAsync(rule, caller, request, response, context);
            return response;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound && rule.Access == Access.Read)
        {
            await SlowFailedLookupAsync(caller, context);
            throw;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var (rule, caller) = Authorize(context, null);
        var response = await continuation(requestStream, context);
        if (caller is not null)
            await AuditAsync(rule, caller, "(stream)", response, context);
        return response;
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var (rule, caller) = Authorize(context, request);
        await continuation(request, responseStream, context);
        if (caller is not null)
            await AuditAsync(rule, caller, request, null, context);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var (rule, caller) = Authorize(context, null);
        await continuation(requestStream, responseStream, context);
        if (caller is not null)
            await AuditAsync(rule, caller, "(stream)", null, context);
    }

    /// <summary>The rule and the caller; the caller is null for anonymous services. Throws the refusal.</summary>
    private (RpcRule Rule, Caller? Caller) Authorize(ServerCallContext context, object? request)
    {
        var rule = policies.Find(context.Method);
        if (rule?.Access == Access.Anonymous)
            return (rule, null);

        var http = context.GetHttpContext();
        var caller = Caller.From(http.User);
        if (caller is null)
        {
            var reason = http.Items.TryGetValue(ApiKeyAuthenticationHandler.FailureItem, out var failure) && failure is string text
                ? text
                : $"no API key: send the {ApiKeyAuthenticationHandler.Header} header (keyId.secret)";
            throw new RpcException(new Status(StatusCode.Unauthenticated, reason));
        }
        if (rule is null)
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{context.Method} has no access policy; nobody may call it"));
        if (!rule.Allows(caller.Role))
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"role {caller.Role} may not call {context.Method}"));

        if (caller.Channel is { } own)
        {
            if (rule.ChannelOf is not null && request is not null)
            {
                var asked = rule.ChannelOf(request);
                if (!string.Equals(asked, own, StringComparison.Ordinal))
                    throw new RpcException(new Status(StatusCode.PermissionDenied,
                        $"channel: a {own} key may act only as {own}, not as '{asked}'"));
            }
            if (!limits.TryAcquire(caller.KeyId))
            {
                context.ResponseTrailers.Add("retry-after", "1");
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"rate limit: key {caller.KeyId} may make {limits.PermitsPerSecond} calls per second; retry after 1 second"));
            }
        }
        return (rule, caller);
    }

    private async Task AuditAsync(RpcRule rule, Caller caller, object request, object? response, ServerCallContext context)
    {
        if (rule.Access != Access.Change || caller.Role is not (Roles.Operator or Roles.Admin))
            return;
        var before = context.GetHttpContext().RequestServices.GetService<AuditBefore>()?.Value;
        await audit.WriteAsync(rule, caller, request, response, before, context.CancellationToken);
    }

    private async Task SlowFailedLookupAsync(Caller caller, ServerCallContext context)
    {
        var delay = limits.FailedLookup(caller.KeyId, context.Method);
        if (delay > TimeSpan.Zero)
        {
            try { await Task.Delay(delay, context.CancellationToken); }
            catch (OperationCanceledException) { }
        }
    }
}
