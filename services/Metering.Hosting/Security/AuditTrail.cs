using Google.Protobuf;
using Grpc.Core;
using Metering.Hosting.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Metering.Hosting.Security;

/// <summary>One operator or admin change: who, what, when, before and after. Rows are only ever added.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }

    public DateTime At { get; set; }

    public required string KeyId { get; set; }

    public required string Role { get; set; }

    /// <summary>The gRPC method, <c>/metering.accounts.v1.Accounts/CloseAccount</c>.</summary>
    public required string Rpc { get; set; }

    /// <summary><c>user_number=...</c> or the first id of the request.</summary>
    public string? Target { get; set; }

    /// <summary>Masked JSON of what the target looked like before, when the service can say cheaply.</summary>
    public string? Before { get; set; }

    /// <summary>Masked JSON of the request.</summary>
    public required string Request { get; set; }

    /// <summary>Masked JSON of the answer: the state after the change.</summary>
    public string? After { get; set; }
}

/// <summary>
/// Set by a service's RPC (resolved per request) to record the target's state before the change; the
/// interceptor writes it with the audit row.
/// </summary>
public sealed class AuditBefore
{
    public IMessage? Value { get; set; }

    /// <summary>Keeps the target's state before this call's change, for the audit row (a clone: the entity may change after).</summary>
    public static void Record(ServerCallContext context, IMessage before)
    {
        if (context.GetHttpContext().RequestServices.GetService<AuditBefore>() is { } slot)
            slot.Value = before.Descriptor.Parser.ParseFrom(before.ToByteString());
    }
}

/// <summary>Writes audit rows in the service's own database and answers auditors' queries.</summary>
public sealed class AuditTrail(IServiceScopeFactory scopes, IEnumerable<IAuditRowQueue> queues, TimeProvider time, ILogger<AuditTrail> logger)
{
    private readonly IAuditRowQueue[] _queues = queues.ToArray();

    public async Task WriteAsync(RpcRule rule, Caller caller, object request, object? response, IMessage? before, CancellationToken cancellationToken)
    {
        if (rule.AuditStore is null)
            return;
        var entry = new AuditEntry
        {
            At = time.GetUtcNow().UtcDateTime,
            KeyId = caller.KeyId,
            Role = caller.Role,
            Rpc = rule.Method,
            Target = request is IMessage m ? Truncate(PersonalData.Target(m), 200) : null,
            Before = before is null ? null : PersonalData.MaskedJson(before),
            Request = request is IMessage r ? PersonalData.MaskedJson(r) : "(stream)",
            After = response is IMessage a ? PersonalData.MaskedJson(a) : null,
        };
        if (Array.Find(_queues, q => q.Store == rule.AuditStore && q.Accepts) is { } queue)
        {
            // The change is committed and the row follows it into the service's next commit; the answer does not wait
            // for that second commit (at 16 clients recording readings, waiting for it halved the throughput).
            _ = WriteQueuedAsync(queue, rule, caller, entry);
            return;
        }
        await WriteInContextAsync(rule, caller, entry);
    }

    private async Task WriteQueuedAsync(IAuditRowQueue queue, RpcRule rule, Caller caller, AuditEntry entry)
    {
        try
        {
            if (await queue.WriteAsync(entry))
                return;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "The audit row for {Rpc} by {KeyId} was not committed with the service's writes; writing it alone",
                rule.Method, caller.KeyId);
        }
        await WriteInContextAsync(rule, caller, entry);
    }

    private async Task WriteInContextAsync(RpcRule rule, Caller caller, AuditEntry entry)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = (MessagingDbContext)scope.ServiceProvider.GetRequiredService(rule.AuditStore!);
            db.AuditEntries.Add(entry);
            // The change is committed already; the caller must not be told it failed because the audit row did.
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Audit row for {Rpc} by {KeyId} could not be written", rule.Method, caller.KeyId);
        }
    }

    private static string? Truncate(string? text, int length) => text is null || text.Length <= length ? text : text[..length];

    /// <summary>
    /// <c>GET /v1/{service}/audit?after=&amp;limit=&amp;rpc=&amp;keyId=&amp;target=</c> for each service that keeps a trail.
    /// There is no route that changes or deletes an audit row.
    /// </summary>
    public static void MapQueries(IEndpointRouteBuilder endpoints, string serviceName, Type store)
    {
        endpoints.MapGet($"/v1/{serviceName}/audit", async (HttpContext http, long? after, int? limit, string? rpc, string? keyId, string? target) =>
        {
            var db = (MessagingDbContext)http.RequestServices.GetRequiredService(store);
            var take = Math.Clamp(limit ?? 100, 1, 1000);
            var query = db.AuditEntries.AsNoTracking().Where(e => e.Id > (after ?? 0));
            if (!string.IsNullOrEmpty(rpc))
                query = query.Where(e => e.Rpc.EndsWith(rpc));
            if (!string.IsNullOrEmpty(keyId))
                query = query.Where(e => e.KeyId == keyId);
            if (!string.IsNullOrEmpty(target))
                query = query.Where(e => e.Target == target);
            var entries = await query.OrderBy(e => e.Id).Take(take).ToListAsync(http.RequestAborted);
            return Results.Ok(new { entries, next = entries.Count == take ? entries[^1].Id : (long?)null });
        }).WithMetadata(new RouteRoles([Roles.Auditor, Roles.Admin]));
    }
}

/// <summary>Endpoint metadata: the roles a non-gRPC route allows.</summary>
public sealed record RouteRoles(IReadOnlyCollection<string> Roles);
