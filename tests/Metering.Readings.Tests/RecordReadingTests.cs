using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Metering.Contracts.Events;
using Metering.Contracts.Readings.V1;
using Metering.Hosting.Grpc;
using Metering.Readings.Data;
using Metering.Testing;
using Microsoft.EntityFrameworkCore;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

namespace Metering.Readings.Tests;

public sealed class RecordReadingTests : IDisposable
{
    // Well formed (Luhn-valid) but never opened.
    private const string UnknownUserNumber = "9999999999";

    private readonly ReadingsHost _host = new();

    public void Dispose() => _host.Dispose();

    private ReadingsClient Client => new(_host.Channel);

    private Task<RecordReadingResponse> RecordAsync(string userNumber, string readOn, long registerLitres) =>
        Client.RecordReadingAsync(new RecordReadingRequest
        {
            UserNumber = userNumber, ReadOn = readOn, RegisterLitres = registerLitres,
        }).ResponseAsync;

    [Fact]
    public async Task The_thin_flow_s_three_readings_are_measured_from_each_other_and_published()
    {
        var userNumber = await _host.OpenAccountAsync();

        var first = await RecordAsync(userNumber, "2026-03-31", 100_000);
        var second = await RecordAsync(userNumber, "2026-06-30", 150_000);
        var third = await RecordAsync(userNumber, "2026-09-30", 260_000);

        Assert.Equal([100_000L, 50_000L, 110_000L], [first.ConsumptionLitres, second.ConsumptionLitres, third.ConsumptionLitres]);
        Assert.All([first, second, third], r => Assert.Equal(ReadingStatus.Accepted, r.Status));
        Assert.Equal(("2026-01-01", 0L), (first.PreviousReadOn, first.PreviousRegisterLitres));
        Assert.Equal(("2026-03-31", 100_000L), (second.PreviousReadOn, second.PreviousRegisterLitres));
        Assert.Equal(("2026-06-30", 150_000L), (third.PreviousReadOn, third.PreviousRegisterLitres));

        // Three ReadingAccepted rows, committed with the readings, then sent by the relay.
        var rows = await Eventually.Get(
            () => _host.QueryAsync(db => db.OutboxMessages.OrderBy(m => m.Id).ToListAsync()),
            rows => rows.Count == 3 && rows.All(r => r.SentAt != null), what: "three ReadingAccepted to be sent");
        var events = rows.Select(r => JsonSerializer.Deserialize<ReadingAccepted>(r.Body)!).ToList();
        Assert.All(rows, r => Assert.StartsWith(typeof(ReadingAccepted).FullName!, r.MessageType));
        Assert.Equal([first.ReadingId, second.ReadingId, third.ReadingId], events.Select(e => e.ReadingId.ToString()));
        Assert.Equal([100_000L, 50_000L, 110_000L], events.Select(e => e.ConsumptionLitres));
        Assert.All(events, e => Assert.Equal((userNumber, "ACTUAL"), (e.UserNumber, e.Kind)));
        Assert.Equal(new ReadingAccepted(events[2].ReadingId, userNumber, new DateOnly(2026, 6, 30), 150_000,
            new DateOnly(2026, 9, 30), 260_000, 110_000, "ACTUAL", events[2].OccurredAt), events[2]);

        var list = await Client.ListReadingsAsync(new ListReadingsRequest { UserNumber = userNumber });
        Assert.Equal(userNumber, list.UserNumber);
        Assert.Equal(["2026-09-30", "2026-06-30", "2026-03-31", "2026-01-01"], list.Readings.Select(r => r.ReadOn));
        Assert.Equal([260_000L, 150_000L, 100_000L, 0L], list.Readings.Select(r => r.RegisterLitres));
        Assert.Equal([ReadingKind.Actual, ReadingKind.Actual, ReadingKind.Actual, ReadingKind.Initial],
            list.Readings.Select(r => r.Kind));
        Assert.Equal(third.ReadingId, list.Readings[0].ReadingId);
    }

    [Fact]
    public async Task Readings_are_recorded_and_listed_over_JSON()
    {
        var userNumber = await _host.OpenAccountAsync();
        var http = _host.CreateClient();

        var response = await http.PostAsJsonAsync($"/v1/accounts/{userNumber}/readings",
            new { readOn = "2026-03-31", registerLitres = 100_000 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(Guid.TryParse(body.GetProperty("readingId").GetString(), out _));
        Assert.Equal(100_000, body.GetProperty("consumptionLitres").GetInt64());
        Assert.Equal("ACCEPTED", body.GetProperty("status").GetString());
        Assert.Equal("2026-01-01", body.GetProperty("previousReadOn").GetString());

        var list = await http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{userNumber}/readings");
        var readings = list.GetProperty("readings").EnumerateArray().ToList();
        Assert.Equal(["ACTUAL", "INITIAL"], readings.Select(r => r.GetProperty("kind").GetString()));
        Assert.Equal(100_000, readings[0].GetProperty("registerLitres").GetInt64());
    }

    [Fact]
    public async Task Refusals_over_JSON_carry_their_HTTP_codes_and_write_nothing()
    {
        var userNumber = await _host.OpenAccountAsync();
        var http = _host.CreateClient();
        await RecordAsync(userNumber, "2026-03-31", 100_000);
        var before = await _host.CountRowsAsync();

        Task<HttpResponseMessage> Post(string who, string readOn, long litres) =>
            http.PostAsJsonAsync($"/v1/accounts/{who}/readings", new { readOn, registerLitres = litres });

        Assert.Equal(HttpStatusCode.BadRequest, (await Post("1000000017", "2026-06-30", 150_000)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(userNumber, "2026-06-31", 150_000)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Post(UnknownUserNumber, "2026-06-30", 150_000)).StatusCode);
        var lower = await Post(userNumber, "2026-06-30", 99_000);
        // gRPC transcoding answers FAILED_PRECONDITION with 400 and the status in the body.
        Assert.Equal(HttpStatusCode.BadRequest, lower.StatusCode);
        var status = await lower.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)StatusCode.FailedPrecondition, status.GetProperty("code").GetInt32());
        Assert.Contains("lower than the previous reading", status.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/accounts/{UnknownUserNumber}/readings")).StatusCode);

        Assert.Equal(before, await _host.CountRowsAsync());
    }

    // The account was opened on 2026-01-01 with 0 L and read on 2026-03-31 at 100 000 L; today is 2026-11-28.
    public static TheoryData<string?, string, long, StatusCode, string?> Refusals => new()
    {
        { "12345", "2026-06-30", 150_000, StatusCode.InvalidArgument, "user_number" },
        { "10000000ab", "2026-06-30", 150_000, StatusCode.InvalidArgument, "user_number" },
        { "1000000017", "2026-06-30", 150_000, StatusCode.InvalidArgument, "user_number" },
        { UnknownUserNumber, "2026-06-30", 150_000, StatusCode.NotFound, null },
        { null, "", 150_000, StatusCode.InvalidArgument, "read_on" },
        { null, "2026-02-30", 150_000, StatusCode.InvalidArgument, "read_on" },
        { null, "30/06/2026", 150_000, StatusCode.InvalidArgument, "read_on" },
        { null, "2026-11-29", 150_000, StatusCode.InvalidArgument, "read_on" },
        { null, "2026-06-30", -1, StatusCode.InvalidArgument, "register_litres" },
        { null, "2026-06-30", 100_000_000, StatusCode.InvalidArgument, "register_litres" },
        { null, "2026-06-30", 99_999, StatusCode.FailedPrecondition, null },
        { null, "2026-02-28", 90_000, StatusCode.FailedPrecondition, null },
        { null, "2025-12-31", 0, StatusCode.InvalidArgument, "read_on" },
        { null, "2026-03-31", 100_001, StatusCode.FailedPrecondition, null },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_refused_reading_says_why_and_writes_nothing(
        string? who, string readOn, long registerLitres, StatusCode expected, string? field)
    {
        var userNumber = await _host.OpenAccountAsync();
        await RecordAsync(userNumber, "2026-03-31", 100_000);
        var before = await _host.CountRowsAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => RecordAsync(who ?? userNumber, readOn, registerLitres));

        Assert.Equal(expected, error.StatusCode);
        Assert.Equal(field, ErrorDetails.ViolatedField(error));
        Assert.Equal(before, await _host.CountRowsAsync());
    }

    [Fact]
    public async Task A_reading_lower_than_the_previous_is_refused_saying_so()
    {
        var userNumber = await _host.OpenAccountAsync();
        await RecordAsync(userNumber, "2026-03-31", 100_000);

        var error = await Assert.ThrowsAsync<RpcException>(() => RecordAsync(userNumber, "2026-06-30", 90_000));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("register 90000 L is lower than the previous reading of 100000 L on 2026-03-31", error.Status.Detail);
    }

    [Fact]
    public async Task An_account_Readings_has_not_heard_of_is_not_found_and_the_answer_says_it_may_be_on_its_way()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => RecordAsync(UnknownUserNumber, "2026-03-31", 100_000));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("may not have arrived yet", error.Status.Detail);
        Assert.Equal((0, 0, 0), await _host.CountRowsAsync());
    }

    [Fact]
    public async Task A_closed_account_takes_no_readings()
    {
        var userNumber = await _host.OpenAccountAsync();
        await _host.QueryAsync(db => db.Accounts.Where(a => a.UserNumber == userNumber)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, AccountStatus.Closed)));
        var before = await _host.CountRowsAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => RecordAsync(userNumber, "2026-03-31", 100_000));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("closed", error.Status.Detail);
        Assert.Equal(before, await _host.CountRowsAsync());
    }

    [Fact]
    public async Task The_same_reading_sent_again_gets_the_first_answer_and_no_second_event()
    {
        var userNumber = await _host.OpenAccountAsync();
        var first = await RecordAsync(userNumber, "2026-03-31", 100_000);
        await RecordAsync(userNumber, "2026-06-30", 150_000);
        var before = await _host.CountRowsAsync();

        // Sent again after a later reading too (a client retrying late): still the first answer.
        var again = await RecordAsync(userNumber, "2026-03-31", 100_000);

        Assert.Equal(first, again);
        Assert.Equal(before, await _host.CountRowsAsync());
    }
}
