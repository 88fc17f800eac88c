using Grpc.Core;
using Metering.Contracts.Events;
using Metering.Contracts.Readings.V1;
using Microsoft.EntityFrameworkCore;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

namespace Metering.Readings.Tests;

/// <summary>
/// On SQLite, single readings are group-committed with prepared statements (one account's chain in two statements,
/// the older part of its 12 months summed by SQLite, the audit rows in the same commit); SQL Server records each
/// reading through EF Core. The same sixteen months of single readings (estimates, anomalies held, re-sends,
/// registers that run backwards, a meter replacement, unknown accounts, readings of many accounts at once) go
/// through the prepared statements, through the group commit's earlier EF-built commands, and through EF Core's
/// path on real SQLite, and must give the same answers, rows, events and audit rows.
/// </summary>
public sealed class SingleReadingPathEquivalenceTests
{
    private const int Accounts = 8;

    [Fact]
    public async Task Prepared_statements_and_EF_Core_record_single_readings_identically()
    {
        using var prepared = new ReadingsHost();
        using var commands = new ReadingsHost(new Dictionary<string, string?> { ["Readings:SqliteFastPath"] = "false" });
        using var ef = new ReadingsHost(new Dictionary<string, string?>
        {
            ["Readings:SqliteFastPath"] = "false",
            ["Readings:GroupCommit"] = "false",
        });

        var preparedRun = await RecordAsync(prepared);
        var commandsRun = await RecordAsync(commands);
        var efRun = await RecordAsync(ef);

        AssertSame(efRun, preparedRun);
        AssertSame(commandsRun, preparedRun);
        // The history really contains what the rules distinguish.
        Assert.Contains(preparedRun.Answers, a => a.StartsWith("Held|"));
        Assert.Contains(preparedRun.Answers, a => a.Contains("|Estimated|"));
        Assert.Contains(preparedRun.Answers, a => a.StartsWith("error NotFound"));
        Assert.Contains(preparedRun.Answers, a => a.StartsWith("error InvalidArgument") || a.StartsWith("error FailedPrecondition"));
        Assert.Contains(preparedRun.Rows, r => r.Contains("|Final|"));
        Assert.Contains(preparedRun.Audit, a => a.Contains("/RecordReading|"));
    }

    private static void AssertSame(Run expected, Run actual)
    {
        Assert.Equal(expected.Answers, actual.Answers);
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Events, actual.Events);
        Assert.Equal(expected.Audit, actual.Audit);
    }

    private sealed record Run(List<string> Answers, List<string> Rows, List<string> Events, List<string> Audit);

    private static async Task<Run> RecordAsync(ReadingsHost host)
    {
        for (var a = 0; a < Accounts; a++)
            await host.PublishAsync(ReadingsHost.Opened(UserNumberOf(a), 0, "2025-06-01"));
        await Metering.Testing.Eventually.Get(() => host.QueryAsync(db => db.Accounts.CountAsync()), n => n == Accounts, what: "all accounts");

        var client = new ReadingsClient(host.Channel);
        var answers = new List<string>();
        foreach (var month in Months())
        {
            // One month's readings of every account at once, so that the group commit takes several together; the
            // answers are kept in the order sent.
            answers.AddRange(await Task.WhenAll(month.Select(call => AnswerAsync(call(client)))));
        }

        var rows = await host.QueryAsync(db => (
            from r in db.Readings
            join a in db.Accounts on r.AccountId equals a.Id
            orderby a.UserNumber, r.Sequence
            select new { a.UserNumber, a.LastReadingSequence, r.Sequence, r.ReadOn, r.RegisterLitres, r.Kind, r.Status, r.ConsumptionLitres,
                r.PreviousReadOn, r.PreviousRegisterLitres, r.HoldReason, r.ReleasedAt, r.CorrectedAt }).ToListAsync());
        var events = (await host.EventsAsync<ReadingAccepted>())
            .Select(e => $"{e.UserNumber}|{e.ReadOn:yyyy-MM-dd}|{e.RegisterLitres}|{e.ConsumptionLitres}|{e.Kind}|{e.PreviousReadOn:yyyy-MM-dd}|{e.PreviousRegisterLitres}")
            .Order().ToList();
        var audit = await Metering.Testing.Eventually.Get(
            () => host.QueryAsync(db => db.AuditEntries.AsNoTracking().ToListAsync()),
            entries => entries.Count == answers.Count(a => !a.StartsWith("error")), what: "an audit row per answered change");
        return new Run(answers,
            rows.Select(r => $"{r.UserNumber}|{r.Sequence}|{r.ReadOn:yyyy-MM-dd}|{r.RegisterLitres}|{r.Kind}|{r.Status}|{r.ConsumptionLitres}|" +
                             $"{r.PreviousReadOn:yyyy-MM-dd}|{r.PreviousRegisterLitres}|{r.HoldReason}|{r.LastReadingSequence}|{r.ReleasedAt}|{r.CorrectedAt}").ToList(),
            events,
            // Reading ids and instants differ between the hosts; the rest of each row must not.
            audit.Select(e => $"{e.KeyId}|{e.Role}|{e.Rpc}|{e.Target}|{e.Before}|{WithoutIds(e.Request)}|{WithoutIds(e.After)}")
                .Order(StringComparer.Ordinal).ToList());
    }

    private static string? WithoutIds(string? json) =>
        json is null ? null : System.Text.RegularExpressions.Regex.Replace(json, "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "id");

    private static async Task<string> AnswerAsync(Task<string> call)
    {
        try
        {
            return await call;
        }
        catch (RpcException ex)
        {
            return $"error {ex.StatusCode} {ex.Status.Detail}";
        }
    }

    private static string Text(RecordReadingResponse r) =>
        $"{r.Status}|{r.Kind}|{r.RegisterLitres}|{r.ConsumptionLitres}|{r.PreviousReadOn}|{r.PreviousRegisterLitres}|{r.HoldReason}";

    /// <summary>
    /// Sixteen months, the same for every host: steady use per account with, at random (fixed seed), spikes eight times
    /// the usual (held once there is history), estimates, readings sent twice, registers that run backwards, a reading
    /// of an unknown account, and in month 9 account 1's meter replaced before its reading.
    /// </summary>
    private static IEnumerable<List<Func<ReadingsClient, Task<string>>>> Months()
    {
        var random = new Random(20261129);
        var register = new long[Accounts];
        var last = Enumerable.Repeat(new DateOnly(2025, 6, 1), Accounts).ToArray();
        for (var month = 0; month < 16; month++)
        {
            var on = new DateOnly(2025, 7, 1).AddMonths(month).AddDays(-1);
            var calls = new List<Func<ReadingsClient, Task<string>>>();
            if (month == 9)
            {
                var replacedOn = on.AddDays(-10);
                var final = register[1] + 200L * (replacedOn.DayNumber - last[1].DayNumber);
                // Its own round first: the next readings are measured from the new meter's initial reading.
                yield return
                [
                    async c => $"replaced|{(await c.ReplaceMeterAsync(new ReplaceMeterRequest
                    {
                        UserNumber = UserNumberOf(1), ReplacedOn = Text(replacedOn), OldFinalRegisterLitres = final,
                        NewMeterSerial = "M-NEW-1", NewInitialRegisterLitres = 5_000,
                    })).FinalReading.ConsumptionLitres}",
                ];
                register[1] = 5_000;
                last[1] = replacedOn;
            }
            for (var a = 0; a < Accounts; a++)
            {
                var userNumber = UserNumberOf(a);
                var dice = random.Next(100);
                if (dice < 10)
                {
                    calls.Add(async c => Text(await c.EstimateReadingAsync(new EstimateReadingRequest { UserNumber = userNumber, ReadOn = Text(on) })));
                    continue;
                }
                if (dice < 15)
                {
                    var backwards = Math.Max(0, register[a] - 5_000);
                    calls.Add(async c => Text(await c.RecordReadingAsync(new RecordReadingRequest { UserNumber = userNumber, ReadOn = Text(on), RegisterLitres = backwards })));
                    continue;
                }
                var days = on.DayNumber - last[a].DayNumber;
                var used = (long)(100 + 60 * a) * days * (dice < 25 ? 8 : 1);
                register[a] += used;
                last[a] = on;
                var litres = register[a];
                calls.Add(async c => Text(await c.RecordReadingAsync(new RecordReadingRequest { UserNumber = userNumber, ReadOn = Text(on), RegisterLitres = litres })));
                if (dice is >= 25 and < 30)
                    calls.Add(async c => "again|" + Text(await c.RecordReadingAsync(new RecordReadingRequest { UserNumber = userNumber, ReadOn = Text(on), RegisterLitres = litres })));
            }
            if (month == 3)
                calls.Add(async c => Text(await c.RecordReadingAsync(new RecordReadingRequest { UserNumber = UserNumberOf(Accounts), ReadOn = Text(on), RegisterLitres = 1 })));
            yield return calls;
        }
    }

    private static string UserNumberOf(int account) => ReadingsHost.UserNumberFor(310_000_000 + account);

    private static string Text(DateOnly date) => date.ToString("yyyy-MM-dd");
}
