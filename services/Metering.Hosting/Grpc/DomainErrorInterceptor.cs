using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Metering.Domain;
using Microsoft.Extensions.Logging;
using Status = Google.Rpc.Status;

namespace Metering.Hosting.Grpc;

/// <summary>
/// The one place where domain refusals become gRPC statuses (and, through JSON transcoding, HTTP
/// codes). Anything else is a bug: it is logged with its stack and answered INTERNAL without internals.
/// </summary>
public sealed class DomainErrorInterceptor(ILogger<DomainErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(request, context); }
        catch (Exception ex) when (ex is not RpcException) { throw Translate(ex, context); }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(requestStream, context); }
        catch (Exception ex) when (ex is not RpcException) { throw Translate(ex, context); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(request, responseStream, context); }
        catch (Exception ex) when (ex is not RpcException) { throw Translate(ex, context); }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(requestStream, responseStream, context); }
        catch (Exception ex) when (ex is not RpcException) { throw Translate(ex, context); }
    }

    private RpcException Translate(Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case DomainException domain:
                logger.LogInformation("{Method} refused: {Reason}", context.Method, domain.Message);
                return ErrorDetails.ToRpcException(domain);
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new global::Grpc.Core.Status(StatusCode.Cancelled, "the call was cancelled"));
            default:
                var reference = Activity.Current?.TraceId.ToString() ?? Guid.NewGuid().ToString("N");
                logger.LogError(exception, "{Method} failed (reference {Reference})", context.Method, reference);
                return new RpcException(new global::Grpc.Core.Status(StatusCode.Internal,
                    $"internal error (reference {reference})"));
        }
    }
}

/// <summary>Rich error details (google.rpc.Status) so that clients read the offending field, not just a message.</summary>
public static class ErrorDetails
{
    public static TypeRegistry TypeRegistry { get; } = TypeRegistry.FromMessages(BadRequest.Descriptor, ErrorInfo.Descriptor);

    public static RpcException ToRpcException(DomainException exception)
    {
        var status = new Status { Message = exception.Message };
        switch (exception)
        {
            case InvalidArgumentException invalid:
                status.Code = (int)Code.InvalidArgument;
                status.Details.Add(Any.Pack(new BadRequest
                {
                    FieldViolations = { new BadRequest.Types.FieldViolation { Field = invalid.Field, Description = invalid.Reason } },
                }));
                break;
            case NotFoundException:
                status.Code = (int)Code.NotFound;
                break;
            case AlreadyExistsException:
                status.Code = (int)Code.AlreadyExists;
                break;
            case FailedPreconditionException:
                status.Code = (int)Code.FailedPrecondition;
                break;
            default:
                status.Code = (int)Code.Unknown;
                break;
        }
        return status.ToRpcException();
    }

    /// <summary>The field named by an INVALID_ARGUMENT status, for clients and tests.</summary>
    public static string? ViolatedField(RpcException exception) =>
        exception.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.FirstOrDefault()?.Field;
}
