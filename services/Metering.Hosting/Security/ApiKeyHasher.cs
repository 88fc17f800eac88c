using System.Security.Cryptography;
using System.Text;

namespace Metering.Hosting.Security;

/// <summary>
/// Salted HMAC-SHA-256 of an API key's secret. The secrets are long random strings, not passwords,
/// so a slow hash (PBKDF2) would add nothing but milliseconds to every call.
/// </summary>
public static class ApiKeyHasher
{
    private const string Scheme = "sha256";

    /// <summary>A new random secret: 32 bytes, URL-safe base64 (no dots, so it fits after <c>keyId.</c>).</summary>
    public static string NewSecret() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Hash(string secret) => Hash(secret, RandomNumberGenerator.GetBytes(16));

    internal static string Hash(string secret, byte[] salt) =>
        $"{Scheme}:{Convert.ToBase64String(salt)}:{Convert.ToBase64String(HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(secret)))}";

    public static bool Verify(string secret, string stored)
    {
        var parts = stored.Split(':');
        if (parts.Length != 3 || parts[0] != Scheme)
            return false;
        try
        {
            var salt = Convert.FromBase64String(parts[1]);
            var expected = Convert.FromBase64String(parts[2]);
            var actual = HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(secret));
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
