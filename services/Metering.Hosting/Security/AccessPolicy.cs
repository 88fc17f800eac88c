using Google.Protobuf.Reflection;

namespace Metering.Hosting.Security;

public enum Access
{
    /// <summary>Answers without changing anything; a NOT_FOUND answer counts as a failed look-up.</summary>
    Read,

    /// <summary>Changes state; an operator's or admin's successful call is written to the audit trail.</summary>
    Change,

    /// <summary>No key needed (health, reflection).</summary>
    Anonymous,
}

/// <summary>What one RPC allows: the roles, and for channel-scoped RPCs the channel the request acts for.</summary>
public sealed record RpcRule(string Method, Access Access, IReadOnlySet<string> Roles, Func<object, string?>? ChannelOf, Type? AuditStore)
{
    public bool Allows(string role) => Roles.Contains(role);
}

/// <summary>A non-gRPC HTTP route's roles, matched on method and route template.</summary>
public sealed record RouteRule(string HttpMethod, string Template, IReadOnlySet<string> Roles);

/// <summary>
/// One service's access policy: every RPC of its proto service with the roles that may call it. Each
/// service declares one subclass (services/&lt;Service&gt;/Grpc/&lt;Service&gt;AccessPolicy.cs), found by
/// the host in the module's assembly, so the whole table for a service is one file a reviewer can read.
/// An RPC missing from the table is refused (and fails the policy test).
/// </summary>
public abstract class AccessPolicy
{
    private readonly Dictionary<string, RpcRule> _rules = new(StringComparer.Ordinal);
    private readonly List<RouteRule> _routes = [];

    public static readonly string[] Operators = [Security.Roles.Operator];
    public static readonly string[] Readers = [Security.Roles.Operator, Security.Roles.Auditor];
    public static readonly string[] Admins = [Security.Roles.Admin];
    public static readonly string[] AllChannels = Security.Roles.Channels.Select(Security.Roles.Channel).ToArray();

    protected AccessPolicy(ServiceDescriptor service, Type? auditStore)
    {
        Service = service;
        AuditStore = auditStore;
    }

    public ServiceDescriptor Service { get; }

    /// <summary>The service's DbContext type (as registered) that keeps its audit trail.</summary>
    public Type? AuditStore { get; }

    public IReadOnlyCollection<RpcRule> Rules => _rules.Values;

    public IReadOnlyList<RouteRule> Routes => _routes;

    /// <summary>Declares an RPC that is not channel-scoped.</summary>
    protected void Allow(string method, Access access, params IEnumerable<string>[] roles) =>
        Add(method, access, roles.SelectMany(r => r), null);

    /// <summary>Declares a channel-scoped RPC: a channel key may call it only for its own channel.</summary>
    protected void AllowForChannel<TRequest>(string method, Access access, Func<TRequest, string?> channel, params IEnumerable<string>[] roles)
        where TRequest : class =>
        Add(method, access, roles.SelectMany(r => r), request => request is TRequest typed ? channel(typed) : null);

    protected void AllowRoute(string httpMethod, string template, params IEnumerable<string>[] roles) =>
        _routes.Add(new RouteRule(httpMethod, template, roles.SelectMany(r => r).ToHashSet(StringComparer.Ordinal)));

    private void Add(string method, Access access, IEnumerable<string> roles, Func<object, string?>? channel)
    {
        if (Service.FindMethodByName(method) is null)
            throw new InvalidOperationException($"{Service.FullName} has no RPC {method}");
        var name = $"/{Service.FullName}/{method}";
        if (!_rules.TryAdd(name, new RpcRule(name, access, roles.ToHashSet(StringComparer.Ordinal), channel, AuditStore)))
            throw new InvalidOperationException($"{name} is declared twice");
    }
}
