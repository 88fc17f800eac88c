using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Metering.Contracts.Events;
using Metering.Contracts.Readings.V1;
using Metering.Hosting.Grpc;
using Microsoft.EntityFrameworkCore;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

namespace Metering.Readings.Tests;

public sealed class BulkIngestionTests : IDisposable
{
    private readonly ReadingsHost _host = new();

    public void Dispose() => _host.Dispose();

    private ReadingsClient Client => new(_host.Channel);

    [Fact]
    public async Task A_route_file_answers_every_row_and_a_bad_row_never_stops_the_good_ones()
    {
        var a = await _host.OpenAccountAsync(100_000_001);
        var b = await _host.OpenAccountAsync(100_000_002, openedOn: "2026-02-01");
        var unknown = ReadingsHost.UserNumberFor(100_000_099);
        var csv = $"""
            user_number,read_on,register_litres,kind
            {a},2026-03-31,100000,ACTUAL
            {b},2026-03-31,50000,
            {a},2026-03-31,100000,ACTUAL
            12345,2026-03-31,1000,ACTUAL
            {b},2026-12-01,60000,ACTUAL
            {b},2026-04-30,-5,ACTUAL
            {b},2026-04-30,100000000,ACTUAL
            {b},2026-01-15,0,ACTUAL
            {b},2026-04-30,lots,ACTUAL
            {b},2026-04-30,60000,GUESSED
            {unknown},2026-04-30,60000,ACTUAL
            {a},2026-06-30,,ESTIMATED
            {b},2026-04-30,40000,ACTUAL
            {a},2026-09-30,900000,ACTUAL
            """;

        var answer = await Client.ImportReadingsAsync(new ImportReadingsRequest { Csv = csv });

        var outcomes = answer.Results.Select(r => (r.Row, r.Outcome, r.Field)).ToList();
        Assert.Equal([
            (1L, RowOutcome.RowAccepted, ""),
            (2L, RowOutcome.RowAccepted, ""),
            (3L, RowOutcome.RowDuplicate, ""),
            (4L, RowOutcome.RowRefused, "user_number"),
            (5L, RowOutcome.RowRefused, "read_on"),
            (6L, RowOutcome.RowRefused, "register_litres"),
            (7L, RowOutcome.RowRefused, "register_litres"),
            (8L, RowOutcome.RowRefused, "read_on"),
            (9L, RowOutcome.RowRefused, "register_litres"),
            (10L, RowOutcome.RowRefused, "kind"),
            (11L, RowOutcome.RowRefused, ""),
            (12L, RowOutcome.RowAccepted, ""),
            (13L, RowOutcome.RowRefused, ""),
            (14L, RowOutcome.RowHeld, ""),
        ], outcomes);
        Assert.Contains("before the meter's installation on 2026-02-01", answer.Results[7].Reason);
        Assert.Contains("not a whole number", answer.Results[8].Reason);
        Assert.Contains("was not found", answer.Results[10].Reason);
        Assert.Contains("lower than the previous reading", answer.Results[12].Reason);
        Assert.Equal((14L, 3L, 1L, 1L, 9L), (answer.Rows, answer.Accepted, answer.Held, answer.Duplicates, answer.Refused));
        Assert.Equal(answer.Results[0].ReadingId, answer.Results[2].ReadingId);

        // The accepted rows go to Billing as one batch, not one message per row; the held one waits.
        var batch = Assert.Single(await _host.EventsAsync<ReadingBatchAccepted>());
        Assert.Equal([(a, 100_000L, "ACTUAL"), (a, 102_247L, "ESTIMATED"), (b, 50_000L, "ACTUAL")],
            batch.Readings.Select(r => (r.UserNumber, r.ConsumptionLitres, r.Kind)).OrderBy(r => r.UserNumber).ThenBy(r => r.Kind));
        Assert.Empty(await _host.EventsAsync<ReadingAccepted>());

        // The same file again: every row that was written is a duplicate now; nothing new is written.
        var before = await _host.CountRowsAsync();
        var again = await Client.ImportReadingsAsync(new ImportReadingsRequest { Csv = csv });
        Assert.Equal((0L, 0L, 5L, 9L), (again.Accepted, again.Held, again.Duplicates, again.Refused));
        Assert.Equal(before, await _host.CountRowsAsync());
    }

    [Fact]
    public async Task A_file_with_other_columns_is_refused_whole_and_writes_nothing()
    {
        var a = await _host.OpenAccountAsync();
        var http = _host.CreateClient();

        var response = await http.PostAsJsonAsync("/v1/readings:import",
            new { csv = $"user,date,litres\n{a},2026-03-31,100000\n" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("columns must be user_number,read_on,register_litres,kind", body.GetProperty("message").GetString());
        Assert.Equal((1, 1, 0), await _host.CountRowsAsync());
    }

    [Fact]
    public async Task A_meter_data_stream_is_written_in_chunks_with_batched_events_and_a_re_sent_stream_changes_nothing()
    {
        const int accounts = 120, readingsEach = 50; // 6 000 rows: more than one chunk
        var numbers = new List<string>();
        for (var i = 0; i < accounts; i++)
        {
            var userNumber = ReadingsHost.UserNumberFor(200_000_000 + i);
            await _host.PublishAsync(ReadingsHost.Opened(userNumber));
            numbers.Add(userNumber);
        }
        await _host.WaitForAccountAsync(numbers[^1]);
        await Metering.Testing.Eventually.Get(() => _host.QueryAsync(db => db.Accounts.CountAsync()), n => n == accounts, what: "all accounts");

        async Task<ImportReadingsResponse> SendAsync()
        {
            using var call = Client.StreamReadings();
            for (var k = 1; k <= readingsEach; k++)
                foreach (var userNumber in numbers)
                    await call.RequestStream.WriteAsync(new ReadingRow
                    {
                        UserNumber = userNumber, ReadOn = new DateOnly(2026, 1, 1).AddDays(5 * k).ToString("yyyy-MM-dd"),
                        RegisterLitres = 1_500L * k, Kind = ReadingKind.Actual,
                    });
            await call.RequestStream.WriteAsync(new ReadingRow { UserNumber = "oops", ReadOn = "2026-03-31", RegisterLitres = 1 });
            await call.RequestStream.CompleteAsync();
            return await call;
        }

        var first = await SendAsync();
        var second = await SendAsync();

        Assert.Equal((6_001L, 6_000L, 1L), (first.Rows, first.Accepted, first.Refused));
        // Only the rows that were not accepted are listed.
        Assert.Equal((6_001L, "user_number"), (Assert.Single(first.Results).Row, first.Results[0].Field));
        Assert.Equal((0L, 6_000L, 1L), (second.Accepted, second.Duplicates, second.Refused));
        var batches = await _host.EventsAsync<ReadingBatchAccepted>();
        Assert.Equal(6, batches.Count); // 5 000 + 1 000 rows, at most 1 000 readings a message
        Assert.Equal(6_000, batches.Sum(b => b.Readings.Count));
        Assert.Equal(1_500L * readingsEach * accounts, batches.Sum(b => b.Readings.Sum(r => r.ConsumptionLitres)));
        Assert.Equal(accounts * (readingsEach + 1), await _host.QueryAsync(db => db.Readings.CountAsync()));
    }

    [Fact]
    public async Task A_stream_row_of_a_kind_that_is_not_loaded_in_bulk_is_refused_naming_the_field()
    {
        var a = await _host.OpenAccountAsync();
        using var call = Client.StreamReadings();
        await call.RequestStream.WriteAsync(new ReadingRow { UserNumber = a, ReadOn = "2026-03-31", RegisterLitres = 1, Kind = ReadingKind.Final });
        await call.RequestStream.CompleteAsync();

        var answer = await call;

        Assert.Equal((RowOutcome.RowRefused, "kind"), (Assert.Single(answer.Results).Outcome, answer.Results[0].Field));
        Assert.Equal((1, 1, 0), await _host.CountRowsAsync());
    }

    [Fact]
    public async Task A_stream_takes_batches_of_rows_in_one_message_numbering_rows_across_them()
    {
        var a = await _host.OpenAccountAsync(100_000_101);
        var b = await _host.OpenAccountAsync(100_000_102);
        using var call = Client.StreamReadings();
        await call.RequestStream.WriteAsync(new ReadingRow { UserNumber = a, ReadOn = "2026-02-28", RegisterLitres = 9_000 });
        await call.RequestStream.WriteAsync(new ReadingRow
        {
            Rows =
            {
                new ReadingRow { UserNumber = a, ReadOn = "2026-03-31", RegisterLitres = 18_000 },
                new ReadingRow { UserNumber = b, ReadOn = "2026-03-31", RegisterLitres = 7_000 },
                new ReadingRow { UserNumber = b, ReadOn = "2026-02-28", RegisterLitres = 1 },
                new ReadingRow { Rows = { new ReadingRow { UserNumber = b, ReadOn = "2026-04-30", RegisterLitres = 8_000 } } },
            },
        });
        // A message with rows carries nothing else: its own reading is not silently dropped, it is refused.
        await call.RequestStream.WriteAsync(new ReadingRow
        {
            UserNumber = a, ReadOn = "2026-04-30", RegisterLitres = 27_000,
            Rows = { new ReadingRow { UserNumber = b, ReadOn = "2026-04-30", RegisterLitres = 8_000 } },
        });
        await call.RequestStream.CompleteAsync();

        var answer = await call;

        Assert.Equal((6L, 3L, 3L), (answer.Rows, answer.Accepted, answer.Refused));
        Assert.Equal([(4L, ""), (5L, "rows"), (6L, "rows")], answer.Results.Select(r => (r.Row, r.Field)).ToArray());
        Assert.Contains("readings go forward", answer.Results[0].Reason);
        var counts = await _host.CountRowsAsync();
        Assert.Equal((2, 5), (counts.Accounts, counts.Readings));
        var batches = await _host.EventsAsync<ReadingBatchAccepted>();
        Assert.Equal(9_000L + 9_000 + 7_000, batches.Sum(x => x.Readings.Sum(r => r.ConsumptionLitres)));
    }

    [Fact]
    public async Task A_batch_larger_than_a_chunk_is_written_in_chunks()
    {
        var accounts = new List<string>();
        for (var i = 0; i < 20; i++)
            accounts.Add(await _host.OpenAccountAsync(100_000_200 + i));
        var batch = new ReadingRow();
        for (var day = 1; day <= 251; day++)
            foreach (var userNumber in accounts)
                batch.Rows.Add(new ReadingRow
                {
                    UserNumber = userNumber, ReadOn = new DateOnly(2026, 1, 1).AddDays(day).ToString("yyyy-MM-dd"), RegisterLitres = 100L * day,
                });
        batch.Rows.RemoveAt(batch.Rows.Count - 1); // 5 019 rows: one full chunk and a part
        using var call = Client.StreamReadings();
        await call.RequestStream.WriteAsync(batch);
        await call.RequestStream.CompleteAsync();

        var answer = await call;

        Assert.Equal((5_019L, 5_019L), (answer.Rows, answer.Accepted));
        // Events are cut per chunk: 5 × 1 000 for the first chunk (days 1–250), 1 × 19 for the second (day 251 of
        // 19 accounts). Uncut, the last message would hold the last 19 readings of one account.
        var batches = await _host.EventsAsync<ReadingBatchAccepted>();
        Assert.Equal([1_000, 1_000, 1_000, 1_000, 1_000, 19], batches.Select(b => b.Readings.Count).ToArray());
        Assert.Equal(19, batches[^1].Readings.Select(r => r.UserNumber).Distinct().Count());
        Assert.All(batches[^1].Readings, r => Assert.Equal(new DateOnly(2026, 1, 1).AddDays(251), r.ReadOn));
    }
}
