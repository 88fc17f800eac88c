using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Metering.Hosting.Data;

public interface IDatabaseMigrator
{
    Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken);
}

internal sealed class DatabaseMigrator<TContext>(DatabaseProvider provider) : IDatabaseMigrator
    where TContext : DbContext
{
    public async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        if (provider == DatabaseProvider.Sqlite)
        {
            // WAL lets readers (balance queries) go on while a writer (a billing run) commits.
            await db.Database.OpenConnectionAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        // SQL Server: EF Core takes an application lock, so replicas starting together migrate once.
        await db.Database.MigrateAsync(cancellationToken);
    }
}

/// <summary>Applies every service's migrations at start, before the bus and the outbox relays run.</summary>
internal sealed class DatabaseMigrationService(
    IServiceProvider services, IEnumerable<IDatabaseMigrator> migrators, ILogger<DatabaseMigrationService> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var migrator in migrators)
        {
            await migrator.MigrateAsync(services, cancellationToken);
            logger.LogInformation("Database of {Migrator} is up to date", migrator.GetType().GetGenericArguments()[0].Name);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
