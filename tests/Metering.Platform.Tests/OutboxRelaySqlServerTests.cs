using System.Data.Common;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metering.Platform.Tests;

/// <summary>
/// SQL Server cannot run here, so the relay's claim (one UPDATE whose subquery picks the oldest free rows) is
/// translated for it with the connection faked: what EF Core would send is captured instead of executed.
/// </summary>
public sealed class OutboxRelaySqlServerTests
{
    [Fact]
    public async Task The_relay_claims_a_batch_on_sql_server_with_one_update_of_the_oldest_free_rows()
    {
        var offline = new OfflineSqlServer();
        var services = new ServiceCollection();
        services.AddDbContext<TestDb>(o => o.UseSqlServer("Server=nowhere;Database=outbox;Trusted_Connection=False")
            .AddInterceptors(offline));
        await using var provider = services.BuildServiceProvider();
        var relay = new OutboxRelay<TestDb>(provider.GetRequiredService<IServiceScopeFactory>(), bus: null!,
            new OutboxSignal<TestDb>(), Microsoft.Extensions.Options.Options.Create(new OutboxOptions { BatchSize = 250 }),
            TimeProvider.System, NullLogger<OutboxRelay<TestDb>>.Instance);

        // Free rows exist (the faked look-up says so), none is claimed (the faked UPDATE reports no rows), so
        // nothing is read or published.
        Assert.Equal(0, await relay.PublishPendingAsync(CancellationToken.None));

        Assert.Equal(2, offline.Commands.Count);
        Assert.Contains("EXISTS", offline.Commands[0].Text);
        var claim = offline.Commands[1];
        Assert.StartsWith("UPDATE [o]", claim.Text);
        Assert.Contains("[o].[Id] IN (", claim.Text);
        Assert.Contains("SELECT TOP(@", claim.Text);
        Assert.Contains("ORDER BY [o0].[Id]", claim.Text);
        Assert.Contains(250, claim.Parameters.Values);
    }

    private sealed record Command(string Text, IReadOnlyDictionary<string, object?> Parameters);

    private sealed class OfflineSqlServer : DbCommandInterceptor, IDbConnectionInterceptor
    {
        public List<Command> Commands { get; } = [];

        public InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result) =>
            InterceptionResult.Suppress();

        public ValueTask<InterceptionResult> ConnectionOpeningAsync(DbConnection connection, ConnectionEventData eventData,
            InterceptionResult result, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(InterceptionResult.Suppress());

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Commands.Add(new Command(command.CommandText,
                command.Parameters.Cast<DbParameter>().ToDictionary(p => p.ParameterName, p => (object?)p.Value)));
            var answer = new System.Data.DataTable();
            answer.Columns.Add("Value", typeof(bool));
            answer.Rows.Add(true);
            return ValueTask.FromResult(InterceptionResult<DbDataReader>.SuppressWithResult(answer.CreateDataReader()));
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            Commands.Add(new Command(command.CommandText,
                command.Parameters.Cast<DbParameter>().ToDictionary(p => p.ParameterName, p => (object?)p.Value)));
            return ValueTask.FromResult(InterceptionResult<int>.SuppressWithResult(0));
        }
    }
}
