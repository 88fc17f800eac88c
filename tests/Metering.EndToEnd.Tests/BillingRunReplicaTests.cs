using Grpc.Net.Client;
using Metering.Contracts.Billing.V1;
using Metering.Domain;
using Metering.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using BillingClient = Metering.Contracts.Billing.V1.Billing.BillingClient;

namespace Metering.EndToEnd.Tests;

/// <summary>
/// Billing runs across real processes on the real broker: two replicas share a run's chunks through the
/// "billing-runs" work queue, and a replica killed in the middle of a run is restarted and completes it,
/// every account billed exactly once. Both replicas use one SQLite file here (SQL Server in production).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BillingRunReplicaTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const long LitresEach = 100_000;
    private const long FenEach = 33_200;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "metering-e2e-billing", Guid.NewGuid().ToString("N"));
    private readonly List<ServiceProcess> _replicas = [];
    private RabbitMqBroker? _broker;

    private string DatabaseFile => Path.Combine(_directory, "billing.db");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _broker = await RabbitMqBroker.CreateVirtualHostAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
            await replica.DisposeAsync();
        if (_broker is not null)
            await _broker.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }

    private async Task<ServiceProcess> StartReplicaAsync()
    {
        var replica = ServiceProcess.Start("Billing", _directory, new Dictionary<string, string>
        {
            ["Database__Provider"] = "Sqlite",
            ["ConnectionStrings__Billing"] = $"Data Source={DatabaseFile}",
            ["Bus__Transport"] = "RabbitMq",
            ["Bus__RabbitMq__Host"] = "127.0.0.1",
            ["Bus__RabbitMq__VirtualHost"] = _broker!.VirtualHost,
            ["Billing__RunChunkSize"] = "100",
            ["Billing__RunBatchSize"] = "50",
        });
        _replicas.Add(replica);
        await replica.WaitHealthyAsync(TimeSpan.FromSeconds(120));
        return replica;
    }

    /// <summary>Accounts with one unbilled reading each, written straight into Billing's tables (the replica has migrated them).</summary>
    private async Task SeedAsync(int accounts)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabaseFile};Default Timeout=60");
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        var account = connection.CreateCommand();
        account.CommandText = """
            INSERT INTO Accounts (UserNumber, Persons, OpenedOn, InitialRegisterLitres, ReceivedAt)
            VALUES ($user, 3, '2026-01-01', 0, '2026-01-01 00:00:00');
            INSERT INTO Consumptions (ReadingId, UserNumber, PreviousReadOn, PreviousRegisterLitres, ReadOn, RegisterLitres,
                ConsumptionLitres, Kind, ReceivedAt)
            VALUES ($reading, $user, '2026-01-01', 0, '2026-03-31', $litres, $litres, 'actual', '2026-04-01 00:00:00');
            """;
        var user = account.Parameters.Add("$user", SqliteType.Text);
        var reading = account.Parameters.Add("$reading", SqliteType.Text);
        account.Parameters.AddWithValue("$litres", LitresEach);
        for (var i = 0; i < accounts; i++)
        {
            user.Value = UserNumber.FromBody(500_000_000 + i).Value;
            reading.Value = Guid.NewGuid().ToString().ToUpperInvariant();
            await account.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    private async Task<(long Bills, long Accounts, long Unbilled, long Fen)> BilledAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={DatabaseFile};Default Timeout=60");
        await connection.OpenAsync();
        var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT COUNT(*) FROM Bills), (SELECT COUNT(DISTINCT UserNumber) FROM Bills),
                   (SELECT COUNT(*) FROM Consumptions WHERE BillId IS NULL), (SELECT COALESCE(SUM(AmountFen), 0) FROM Bills)
            """;
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    private static Task<BillingRun> CompletedAsync(BillingClient client, string runId) =>
        Eventually.Get(() => client.GetBillingRunAsync(new GetBillingRunRequest { RunId = runId }).ResponseAsync,
            r => r.Status is BillingRunStatus.Completed or BillingRunStatus.Failed, TimeSpan.FromSeconds(180), $"run {runId} to end");

    [Fact]
    public async Task Two_replicas_share_the_chunks_of_a_run_and_bill_every_account_once()
    {
        const int accounts = 3_000;
        try
        {
            var first = await StartReplicaAsync();
            var second = await StartReplicaAsync();
            await SeedAsync(accounts);
            using var channel = first.OpenChannel();
            var client = new BillingClient(channel);

            var started = await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" });
            var run = await CompletedAsync(client, started.RunId);

            Assert.Equal(BillingRunStatus.Completed, run.Status);
            Assert.Equal((accounts, accounts, 30, 30, accounts * FenEach),
                (run.AccountsTotal, run.AccountsBilled, run.ChunksTotal, run.ChunksDone, run.TotalFen));
            Assert.Equal((accounts, accounts, 0L, accounts * FenEach), await BilledAsync());
            // Each replica billed some of the chunks.
            Assert.All(_replicas, r => Assert.Contains($"of billing run {started.RunId} on", r.Tail(100_000)));
        }
        catch
        {
            foreach (var replica in _replicas)
                output.WriteLine($"--- {replica.Name} ---{Environment.NewLine}{replica.Tail(30)}");
            throw;
        }
    }

    [Fact]
    public async Task A_replica_killed_mid_run_is_restarted_and_the_run_completes_with_every_account_billed_once()
    {
        const int accounts = 20_000;
        try
        {
            var replica = await StartReplicaAsync();
            await SeedAsync(accounts);
            string runId;
            using (var channel = replica.OpenChannel())
            {
                var client = new BillingClient(channel);
                runId = (await client.StartBillingRunAsync(new StartBillingRunRequest { CutOff = "2026-03-31" })).RunId;
                await Eventually.Get(() => client.GetBillingRunAsync(new GetBillingRunRequest { RunId = runId }).ResponseAsync,
                    r => r.AccountsBilled > 0, TimeSpan.FromSeconds(120), "the run to bill its first accounts");
            }

            await replica.KillAsync();
            var midway = await BilledAsync();
            Assert.InRange(midway.Bills, 1, accounts - 1);

            var restarted = await StartReplicaAsync();
            using var restartedChannel = restarted.OpenChannel();
            var run = await CompletedAsync(new BillingClient(restartedChannel), runId);

            Assert.Equal(BillingRunStatus.Completed, run.Status);
            Assert.Equal((accounts, accounts * FenEach), (run.AccountsBilled, run.TotalFen));
            Assert.Equal((accounts, accounts, 0L, accounts * FenEach), await BilledAsync());
        }
        catch
        {
            foreach (var replica in _replicas)
                output.WriteLine($"--- {replica.Name} ---{Environment.NewLine}{replica.Tail(30)}");
            throw;
        }
    }
}
