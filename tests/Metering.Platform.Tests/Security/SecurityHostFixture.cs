using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Payments.V1;
using Metering.Contracts.Readings.V1;
using Metering.Hosting.Security;

namespace Metering.Platform.Tests.Security;

/// <summary>The development keys of the security contract, and calls to any RPC by its descriptor.</summary>
public static class Keys
{
    public const string Operator = "dev-operator.operator-dev-secret";
    public const string Admin = "dev-admin.admin-dev-secret";
    public const string Auditor = "dev-auditor.auditor-dev-secret";
    public const string WeChat = "dev-wechat.wechat-dev-secret";
    public const string Alipay = "dev-alipay.alipay-dev-secret";

    public static readonly ServiceDescriptor[] Services =
    [
        Contracts.Accounts.V1.Accounts.Descriptor, Contracts.Readings.V1.Readings.Descriptor,
        Contracts.Billing.V1.Billing.Descriptor, Contracts.Payments.V1.Payments.Descriptor,
    ];

    public static IEnumerable<MethodDescriptor> AllMethods => Services.SelectMany(s => s.Methods);

    public static MethodDescriptor Method(string service, string name) =>
        Services.Single(s => s.Name == service).FindMethodByName(name);

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>
    /// Calls the RPC with an empty request (its <c>channel</c> field, if any, set to <paramref name="channel"/>)
    /// and returns the status: OK or a domain refusal means the policy let the call through.
    /// </summary>
    public static async Task<StatusCode> CallAsync(GrpcChannel grpc, MethodDescriptor method, string? channel = null)
    {
        var type = (method.IsClientStreaming, method.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (true, false) => MethodType.ClientStreaming,
            (false, true) => MethodType.ServerStreaming,
            _ => MethodType.DuplexStreaming,
        };
        var call = new Method<byte[], byte[]>(type, method.Service.FullName, method.Name, Bytes, Bytes);
        var request = method.InputType.Parser.ParseFrom(ByteString.Empty);
        if (channel is not null && method.InputType.FindFieldByName("channel") is { } field)
            field.Accessor.SetValue(request, channel);
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20));
        var invoker = grpc.CreateCallInvoker();
        try
        {
            switch (type)
            {
                case MethodType.Unary:
                    await invoker.AsyncUnaryCall(call, null, options, request.ToByteArray());
                    break;
                case MethodType.ClientStreaming:
                    using (var stream = invoker.AsyncClientStreamingCall(call, null, options))
                    {
                        await stream.RequestStream.CompleteAsync();
                        await stream.ResponseAsync;
                    }
                    break;
                case MethodType.ServerStreaming:
                    using (var stream = invoker.AsyncServerStreamingCall(call, null, options, request.ToByteArray()))
                        while (await stream.ResponseStream.MoveNext(CancellationToken.None)) { }
                    break;
                default:
                    using (var stream = invoker.AsyncDuplexStreamingCall(call, null, options))
                    {
                        await stream.RequestStream.CompleteAsync();
                        while (await stream.ResponseStream.MoveNext(CancellationToken.None)) { }
                    }
                    break;
            }
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    public static Dictionary<string, string?> Configured(params (string Id, string Role, string Secret, DateTimeOffset? Expires, DateTimeOffset? Revoked)[] keys)
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < keys.Length; i++)
        {
            var (id, role, secret, expires, revoked) = keys[i];
            settings[$"Security:Keys:{i}:Id"] = id;
            settings[$"Security:Keys:{i}:Role"] = role;
            settings[$"Security:Keys:{i}:SecretHash"] = ApiKeyHasher.Hash(secret);
            if (expires is { } e)
                settings[$"Security:Keys:{i}:ExpiresAt"] = e.ToString("O");
            if (revoked is { } r)
                settings[$"Security:Keys:{i}:RevokedAt"] = r.ToString("O");
        }
        return settings;
    }
}
