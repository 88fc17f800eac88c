using Google.Protobuf.Reflection;

namespace Metering.Hosting.Security;

/// <summary>Every RPC rule of the services this host runs, plus the anonymous health and reflection services.</summary>
public sealed class PolicyTable
{
    private static readonly string[] AnonymousServices =
        ["grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"];

    private readonly Dictionary<string, RpcRule> _rules = new(StringComparer.Ordinal);

    public PolicyTable(IEnumerable<AccessPolicy> policies)
    {
        Policies = policies.ToArray();
        foreach (var rule in Policies.SelectMany(p => p.Rules))
            _rules[rule.Method] = rule;
        Routes = Policies.SelectMany(p => p.Routes).ToArray();
    }

    public IReadOnlyList<AccessPolicy> Policies { get; }

    public IReadOnlyList<RouteRule> Routes { get; }

    /// <summary>The rule of a gRPC method (<c>/package.Service/Method</c>); null means nobody may call it.</summary>
    public RpcRule? Find(string method)
    {
        if (_rules.TryGetValue(method, out var rule))
            return rule;
        var service = method.Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return service is not null && AnonymousServices.Contains(service)
            ? new RpcRule(method, Access.Anonymous, new HashSet<string>(), null, null)
            : null;
    }

    /// <summary>The access policies declared in the assemblies of these modules.</summary>
    public static IEnumerable<AccessPolicy> Discover(IEnumerable<ServiceModule> modules) =>
        modules.Select(m => m.GetType().Assembly).Distinct()
            .SelectMany(a => a.GetTypes())
            .Where(t => typeof(AccessPolicy).IsAssignableFrom(t) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (AccessPolicy)Activator.CreateInstance(t)!);

    /// <summary>RPCs of the given services that no policy declares (the policy test wants none).</summary>
    public static IEnumerable<string> Undeclared(IEnumerable<ServiceDescriptor> services, PolicyTable table) =>
        services.SelectMany(s => s.Methods.Select(m => $"/{s.FullName}/{m.Name}")).Where(m => table.Find(m) is null);
}
