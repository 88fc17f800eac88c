using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Metering.Hosting.Data;

/// <summary>
/// Process-wide settings of the SQLite library, which it takes only before its first connection opens.
/// <para><b>No memory statistics</b> (<c>SQLITE_CONFIG_MEMSTATUS</c> off): with them on, as the bundled library is
/// built, every allocation and free inside SQLite takes one mutex shared by all connections, to keep the counts behind
/// <c>sqlite3_memory_used</c>, which nothing here reads. Two threads working SQLite at once (a bulk load's chunks
/// are measured on some connections while another writes) then met on that mutex tens of thousands of times a second:
/// 0.9 futex calls per reading of a bulk load, about a tenth of its CPU on this machine.</para>
/// </summary>
public static class SqliteLibrary
{
    private const int SqliteConfigMemStatus = 9;

    private static readonly Lazy<bool> Configured = new(ConfigureOnce, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Applies the settings once per process. False when SQLite was already in use here (a connection opened before the
    /// first service's database was added, as a test may do): it then keeps its defaults, which are correct, only slower.
    /// </summary>
    public static bool Configure() => Configured.Value;

    private static bool ConfigureOnce()
    {
        // Microsoft.Data.Sqlite's static set-up picks the bundled library; creating a connection opens nothing.
        using (new SqliteConnection())
        {
        }
        return raw.sqlite3_config(SqliteConfigMemStatus, 0) == raw.SQLITE_OK;
    }
}
