using Metering.Hosting.Messaging;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Metering.Hosting.Data;

public enum DatabaseProvider
{
    Sqlite,
    SqlServer,
}

/// <summary>
/// Chooses a service's database from configuration alone: <c>Database:Provider</c> picks the derived
/// DbContext (each provider keeps its own migrations), <c>ConnectionStrings:{name}</c> says where.
/// </summary>
public static class ServiceDatabase
{
    public static DatabaseProvider Provider(IConfiguration configuration)
    {
        var text = configuration["Database:Provider"];
        if (string.IsNullOrWhiteSpace(text))
            return DatabaseProvider.Sqlite;
        // By name only: Enum.TryParse would also take "7" or "Sqlite,SqlServer" and register no DbContext.
        var name = Enum.GetNames<DatabaseProvider>()
            .FirstOrDefault(n => string.Equals(n, text.Trim(), StringComparison.OrdinalIgnoreCase));
        return name is not null
            ? Enum.Parse<DatabaseProvider>(name)
            : throw new InvalidOperationException($"Database:Provider '{text}' is not one of Sqlite, SqlServer");
    }

    public static IHostApplicationBuilder AddServiceDatabase<TContext, TSqlite, TSqlServer>(
        this IHostApplicationBuilder builder, string connectionStringName)
        where TContext : MessagingDbContext
        where TSqlite : TContext
        where TSqlServer : TContext
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidOperationException($"ConnectionStrings:{connectionStringName} is not set");

        var provider = Provider(builder.Configuration);
        builder.Services.AddSingleton<OutboxSignal<TContext>>();
        builder.Services.AddSingleton<OutboxSignalInterceptor<TContext>>();

        switch (provider)
        {
            case DatabaseProvider.Sqlite:
                // Before any of the service's connections opens (see SqliteLibrary for why).
                SqliteLibrary.Configure();
                EnsureSqliteDirectory(connectionString);
                var checkpoints = builder.Configuration.GetSection("Database:Checkpoints").Get<SqliteCheckpointOptions>()
                                  ?? new SqliteCheckpointOptions();
                checkpoints.InBackground &= !IsInMemory(connectionString);
                var pragmas = new SqliteConnectionPragmas(checkpoints.InBackground);
                builder.Services.AddDbContext<TContext, TSqlite>((services, options) => options
                    .UseSqlite(connectionString)
                    .AddInterceptors(services.GetRequiredService<OutboxSignalInterceptor<TContext>>(), pragmas));
                if (checkpoints.InBackground)
                    builder.Services.AddHostedService(services => new SqliteCheckpointer<TContext>(connectionString,
                        checkpoints, services.GetRequiredService<ILogger<SqliteCheckpointer<TContext>>>()));
                break;
            case DatabaseProvider.SqlServer:
                builder.Services.AddDbContext<TContext, TSqlServer>((services, options) => options
                    .UseSqlServer(connectionString)
                    .AddInterceptors(services.GetRequiredService<OutboxSignalInterceptor<TContext>>()));
                break;
        }

        builder.Services.AddSingleton<IDatabaseMigrator>(new DatabaseMigrator<TContext>(provider));
        builder.Services.AddHealthChecks().AddDbContextCheck<TContext>(connectionStringName.ToLowerInvariant() + "-db");
        builder.Services.AddOutboxRelay<TContext>(builder.Configuration);
        return builder;
    }

    private static bool IsInMemory(string connectionString)
    {
        var settings = new SqliteConnectionStringBuilder(connectionString);
        return settings.Mode == SqliteOpenMode.Memory || settings.DataSource is "" or ":memory:";
    }

    private static void EnsureSqliteDirectory(string connectionString)
    {
        var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrEmpty(dataSource) || dataSource == ":memory:")
            return;
        var directory = Path.GetDirectoryName(Path.GetFullPath(dataSource));
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
    }
}
