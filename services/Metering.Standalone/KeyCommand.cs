using Metering.Hosting.Security;

namespace Metering.Standalone;

/// <summary>
/// <c>Metering.Standalone hash-key &lt;keyId&gt; &lt;role&gt; [secret]</c>: prints the header value the client sends
/// and the configuration entry the services keep (salted hash only). Without a secret a random one is made.
/// </summary>
public static class KeyCommand
{
    public static int Run(string[] args)
    {
        if (args.Length is < 2 or > 3 || args[0].Contains('.') || !Roles.IsValid(args[1]))
        {
            Console.Error.WriteLine("usage: hash-key <keyId> <operator|admin|auditor|channel:<name>> [secret]");
            Console.Error.WriteLine("  keyId may not contain '.'; channels: " + string.Join(", ", Roles.Channels));
            return 2;
        }
        var secret = args.Length == 3 ? args[2] : ApiKeyHasher.NewSecret();
        Console.WriteLine($"client header:  x-api-key: {args[0]}.{secret}");
        Console.WriteLine("configuration (environment variables; use the next free index <i>):");
        Console.WriteLine($"  Security__Keys__<i>__Id={args[0]}");
        Console.WriteLine($"  Security__Keys__<i>__Role={args[1]}");
        Console.WriteLine($"  Security__Keys__<i>__SecretHash={ApiKeyHasher.Hash(secret)}");
        Console.WriteLine($"  Security__Keys__<i>__ExpiresAt={DateTimeOffset.UtcNow.AddYears(1):yyyy-MM-ddTHH:mm:ssZ}   (optional)");
        return 0;
    }
}
