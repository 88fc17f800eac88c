using Google.Rpc;
using Grpc.Core;
using Metering.Domain;
using Metering.Hosting.Grpc;
using Microsoft.Extensions.Logging;

namespace Metering.Platform.Tests;

public sealed class DomainErrorInterceptorTests
{
    private readonly RecordingLogger _log = new();

    private DomainErrorInterceptor Interceptor => new(_log);

    private async Task<RpcException> CallFailingWith(Exception exception, CancellationToken cancellationToken = default) =>
        await Assert.ThrowsAsync<RpcException>(() => Interceptor.UnaryServerHandler<string, string>(
            "request", new FakeServerCallContext(cancellationToken), (_, _) => throw exception));

    [Fact]
    public async Task An_invalid_argument_is_INVALID_ARGUMENT_with_a_field_violation_naming_the_field()
    {
        var error = await CallFailingWith(new InvalidArgumentException("user_number", "has a wrong check digit"));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("user_number", ErrorDetails.ViolatedField(error));
        var violation = Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations);
        Assert.Equal(("user_number", "has a wrong check digit"), (violation.Field, violation.Description));
        Assert.Contains("user_number", error.Status.Detail);
        Assert.Contains("has a wrong check digit", error.Status.Detail);
    }

    public static TheoryData<Exception, StatusCode> Refusals => new()
    {
        { new NotFoundException("account", "1234567897"), StatusCode.NotFound },
        { new AlreadyExistsException("payment wechat/tx-1 was posted with another amount"), StatusCode.AlreadyExists },
        { new FailedPreconditionException("reading is lower than the previous one"), StatusCode.FailedPrecondition },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_domain_refusal_gets_its_status_and_its_message(Exception refusal, StatusCode expected)
    {
        var error = await CallFailingWith(refusal);

        Assert.Equal(expected, error.StatusCode);
        Assert.Equal(refusal.Message, error.Status.Detail);
        Assert.Equal((int)expected, error.GetRpcStatus()!.Code);
        Assert.Null(ErrorDetails.ViolatedField(error));
        Assert.DoesNotContain(_log.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Any_other_exception_is_INTERNAL_and_leaks_nothing_of_it_but_is_logged_with_a_reference()
    {
        var bug = new InvalidOperationException("Login failed for user 'sa' with Password=hunter2 at Server=db-7");

        var error = await CallFailingWith(bug);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        foreach (var leak in new[] { "hunter2", "Password", "db-7", nameof(InvalidOperationException), "   at " })
            Assert.DoesNotContain(leak, error.Status.Detail);
        Assert.Null(error.GetRpcStatus());
        var logged = Assert.Single(_log.Entries, e => e.Level == LogLevel.Error);
        Assert.Same(bug, logged.Exception);
        var reference = error.Status.Detail.Split("reference ")[1].TrimEnd(')');
        Assert.Contains(reference, logged.Message);
    }

    [Fact]
    public async Task An_RpcException_thrown_on_purpose_passes_through_unchanged()
    {
        var deliberate = new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, "channel:wechat may not do this"));

        var error = await CallFailingWith(deliberate);

        Assert.Same(deliberate, error);
    }

    [Fact]
    public async Task A_call_cancelled_by_its_client_is_CANCELLED_not_INTERNAL()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var error = await CallFailingWith(new OperationCanceledException(cancelled.Token), cancelled.Token);

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task A_cancellation_the_client_did_not_ask_for_is_INTERNAL()
    {
        var error = await CallFailingWith(new TaskCanceledException("a database command timed out"));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.DoesNotContain("timed out", error.Status.Detail);
    }

    [Fact]
    public async Task A_successful_call_returns_its_response_untouched()
    {
        var response = await Interceptor.UnaryServerHandler<string, string>(
            "ping", new FakeServerCallContext(), (request, _) => Task.FromResult(request + "/pong"));

        Assert.Equal("ping/pong", response);
    }

    [Fact]
    public async Task Streaming_calls_are_mapped_the_same_way()
    {
        var context = new FakeServerCallContext();
        var refusal = new InvalidArgumentException("read_on", "is not a date");

        var serverStreaming = await Assert.ThrowsAsync<RpcException>(() => Interceptor.ServerStreamingServerHandler<string, string>(
            "request", null!, context, (_, _, _) => throw refusal));
        var clientStreaming = await Assert.ThrowsAsync<RpcException>(() => Interceptor.ClientStreamingServerHandler<string, string>(
            null!, context, (_, _) => throw new NotFoundException("account", "1")));
        var duplex = await Assert.ThrowsAsync<RpcException>(() => Interceptor.DuplexStreamingServerHandler<string, string>(
            null!, null!, context, (_, _, _) => throw new Exception("secret")));

        Assert.Equal("read_on", ErrorDetails.ViolatedField(serverStreaming));
        Assert.Equal(StatusCode.NotFound, clientStreaming.StatusCode);
        Assert.Equal(StatusCode.Internal, duplex.StatusCode);
        Assert.DoesNotContain("secret", duplex.Status.Detail);
    }

    private sealed class FakeServerCallContext(CancellationToken cancellationToken = default) : ServerCallContext
    {
        protected override string MethodCore => "/metering.test.v1.TestService/Do";
        protected override string HostCore => "localhost";
        protected override string PeerCore => "ipv4:127.0.0.1:50000";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore { get; } = [];
        protected override CancellationToken CancellationTokenCore => cancellationToken;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Grpc.Core.Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore { get; } = new(null, new Dictionary<string, List<AuthProperty>>());

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }

    private sealed class RecordingLogger : ILogger<DomainErrorInterceptor>
    {
        public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception), exception));
    }
}
