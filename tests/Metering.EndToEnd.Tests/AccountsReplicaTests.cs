using Grpc.Net.Client;
using Metering.Contracts.Accounts.V1;
using Microsoft.Data.Sqlite;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;

namespace Metering.EndToEnd.Tests;

/// <summary>
/// Two Accounts processes on one database open accounts at the same time: the user-number allocator
/// must never hand the same number to both, whichever process asks.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AccountsReplicaTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "metering-e2e-accounts", Guid.NewGuid().ToString("N"));
    private readonly List<ServiceProcess> _replicas = [];

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
            await replica.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }

    private async Task<ServiceProcess> StartReplicaAsync()
    {
        var replica = ServiceProcess.Start("Accounts", _directory, new Dictionary<string, string>
        {
            ["Database__Provider"] = "Sqlite",
            ["ConnectionStrings__Accounts"] = $"Data Source={Path.Combine(_directory, "accounts.db")}",
            ["Bus__Transport"] = "InMemory",
        });
        _replicas.Add(replica);
        await replica.WaitHealthyAsync(TimeSpan.FromSeconds(120));
        return replica;
    }

    [Fact]
    public async Task Two_processes_on_one_database_never_issue_the_same_user_number()
    {
        // One after the other, so that only the first applies the migrations.
        var first = await StartReplicaAsync();
        var second = await StartReplicaAsync();
        using var firstChannel = first.OpenChannel();
        using var secondChannel = second.OpenChannel();
        var clients = new[] { new AccountsClient(firstChannel), new AccountsClient(secondChannel) };

        const int each = 40;
        var opened = await Task.WhenAll(Enumerable.Range(0, 2 * each).Select(async i =>
        {
            var account = await clients[i % 2].OpenAccountAsync(new OpenAccountRequest
            {
                HolderName = $"住户{i}",
                Address = $"东昌府区 幸福小区 3号楼 1单元 {i + 101}",
                Phone = $"1390635{i:D4}",
                Persons = 3,
                MeterSerial = $"RPL-{i:D4}",
                InitialRegisterLitres = 0,
                OpenedOn = "2026-01-05",
            });
            return account.UserNumber;
        }));

        Assert.Equal(2 * each, opened.Distinct().Count());
        Assert.All(opened, number => Assert.Matches("^[0-9]{10}$", number));
    }
}
