namespace Metering.Domain;

/// <summary>
/// A refusal the caller can act on. The gRPC shell maps each kind to its status code;
/// anything that is not a <see cref="DomainException"/> is a bug and shows as INTERNAL.
/// </summary>
public abstract class DomainException : Exception
{
    // Only the kinds below exist, so the gRPC mapping always knows the status of a refusal.
    private protected DomainException(string message)
        : base(message)
    {
    }
}

/// <summary>A request field is malformed or out of range (INVALID_ARGUMENT, HTTP 400).</summary>
public sealed class InvalidArgumentException(string field, string reason)
    : DomainException($"{field}: {reason}")
{
    public string Field { get; } = field;
    public string Reason { get; } = reason;
}

/// <summary>The thing named does not exist (NOT_FOUND, HTTP 404); <paramref name="hint"/> says what the caller can do.</summary>
public sealed class NotFoundException(string what, string key, string? hint = null)
    : DomainException(hint is null ? $"{what} {key} was not found" : $"{what} {key} was not found: {hint}")
{
    public string What { get; } = what;
    public string Key { get; } = key;
}

/// <summary>The thing to create exists already, or an idempotency key was reused with other content (ALREADY_EXISTS, HTTP 409).</summary>
public sealed class AlreadyExistsException(string message) : DomainException(message);

/// <summary>The request is well formed but the system is not in a state that allows it (FAILED_PRECONDITION).</summary>
public sealed class FailedPreconditionException(string message) : DomainException(message);
