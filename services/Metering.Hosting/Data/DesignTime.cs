using Microsoft.EntityFrameworkCore;

namespace Metering.Hosting.Data;

/// <summary>
/// Options for <c>dotnet ef</c> at design time. No database is opened: migrations and their SQL
/// scripts are produced from the model alone, so SQL Server migrations are generated without a server.
/// </summary>
public static class DesignTime
{
    public static DbContextOptions<T> Sqlite<T>() where T : DbContext =>
        new DbContextOptionsBuilder<T>().UseSqlite("Data Source=design-time.db").Options;

    public static DbContextOptions<T> SqlServer<T>() where T : DbContext =>
        new DbContextOptionsBuilder<T>()
            .UseSqlServer("Server=localhost;Database=DesignTime;Trusted_Connection=True;TrustServerCertificate=True")
            .Options;
}
