using Metering.Contracts.Readings.V1;
using Metering.Hosting.Security;
using Metering.Readings.Data;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

namespace Metering.Readings.Tests;

/// <summary>
/// An operator's reading is audited through Readings' group commit (no context of its own per row), and a row that
/// the group commit does not take is still written, by the audit trail itself.
/// </summary>
public sealed class AuditRowTests
{
    /// <summary>The service's own queue, watched: how many rows it was given, and whether it lets them through.</summary>
    private sealed class WatchedQueue(ReadingAuditQueue inner, bool declines) : IAuditRowQueue
    {
        public int Given;

        public Type Store => inner.Store;

        public bool Accepts => inner.Accepts;

        public Task<bool> WriteAsync(AuditEntry entry)
        {
            Interlocked.Increment(ref Given);
            return declines ? Task.FromResult(false) : inner.WriteAsync(entry);
        }
    }

    private static (ReadingsHost Host, Func<WatchedQueue> Queue) HostWith(bool declines)
    {
        WatchedQueue? watched = null;
        var host = new ReadingsHost(new Dictionary<string, string?>(), services =>
        {
            services.RemoveAll<IAuditRowQueue>();
            services.AddSingleton<IAuditRowQueue>(sp =>
                watched = new WatchedQueue(new ReadingAuditQueue(sp.GetRequiredService<ReadingBatcher>()), declines));
        });
        return (host, () => watched ?? throw new InvalidOperationException("the audit trail never asked for a queue"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_operator_s_reading_leaves_one_audit_row_whether_the_group_commit_takes_it_or_not(bool declines)
    {
        var (host, queue) = HostWith(declines);
        using var _ = host;
        var userNumber = await host.OpenAccountAsync();

        var answer = await new ReadingsClient(host.Channel).RecordReadingAsync(new RecordReadingRequest
        {
            UserNumber = userNumber, ReadOn = "2026-03-31", RegisterLitres = 100_000,
        });

        var rows = await Eventually.Get(
            () => host.QueryAsync(db => db.AuditEntries.AsNoTracking().Where(e => e.Rpc.EndsWith("/RecordReading")).ToListAsync()),
            found => found.Count > 0, what: "the reading's audit row");
        var row = Assert.Single(rows);
        Assert.Equal("dev-operator", row.KeyId);
        Assert.Equal($"user_number={userNumber}", row.Target);
        Assert.Contains(answer.ReadingId, row.After);
        Assert.Equal(1, queue().Given);
    }
}
