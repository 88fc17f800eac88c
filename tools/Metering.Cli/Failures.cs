using Google.Rpc;
using Grpc.Core;

namespace Metering.Cli;

internal static class Failures
{
    /// <summary>The field violations of a refusal's google.rpc.BadRequest detail, when it has one.</summary>
    public static IEnumerable<BadRequest.Types.FieldViolation> FieldViolations(RpcException e)
    {
        var status = e.GetRpcStatus();
        var badRequest = status?.GetDetail<BadRequest>();
        return badRequest?.FieldViolations ?? Enumerable.Empty<BadRequest.Types.FieldViolation>();
    }
}

/// <summary>The demo met a refusal it cannot work around (e.g. a host that billed past the demo year).</summary>
public sealed class DemoRefusedException(string message) : Exception(message);
