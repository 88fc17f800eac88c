using Grpc.Core;
using Metering.Contracts.Events;
using Metering.Contracts.Readings.V1;
using Metering.Hosting.Grpc;
using Metering.Testing;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

namespace Metering.Readings.Tests;

/// <summary>Rollover, replacement, estimates, holds, corrections, closing and history, through gRPC on SQLite.</summary>
public sealed class LifecycleTests : IDisposable
{
    private readonly ReadingsHost _host = new();

    public void Dispose() => _host.Dispose();

    private ReadingsClient Client => new(_host.Channel);

    private Task<RecordReadingResponse> RecordAsync(string userNumber, string readOn, long registerLitres) =>
        Client.RecordReadingAsync(new RecordReadingRequest { UserNumber = userNumber, ReadOn = readOn, RegisterLitres = registerLitres }).ResponseAsync;

    private Task<RecordReadingResponse> EstimateAsync(string userNumber, string readOn) =>
        Client.EstimateReadingAsync(new EstimateReadingRequest { UserNumber = userNumber, ReadOn = readOn }).ResponseAsync;

    [Fact]
    public async Task A_closed_account_takes_readings_up_to_its_closing_date_and_none_after()
    {
        var userNumber = await _host.OpenAccountAsync();
        await _host.PublishEventAsync(new AccountClosed(userNumber, new DateOnly(2026, 6, 30), "moved out", ReadingsHost.Now));
        await Eventually.Get(() => Client.GetReadingHistoryAsync(new GetReadingHistoryRequest { UserNumber = userNumber }).ResponseAsync,
            h => h.Status == "CLOSED", what: "the account to be closed");

        var last = await RecordAsync(userNumber, "2026-06-30", 150_000);
        var before = await _host.CountRowsAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => RecordAsync(userNumber, "2026-07-01", 151_000));

        Assert.Equal(150_000, last.ConsumptionLitres);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("closed on 2026-06-30", error.Status.Detail);
        Assert.Equal(before, await _host.CountRowsAsync());
        var history = await Client.GetReadingHistoryAsync(new GetReadingHistoryRequest { UserNumber = userNumber });
        Assert.Equal("2026-06-30", history.ClosedOn);
    }

    [Fact]
    public async Task A_register_that_wraps_past_99999_m3_is_a_rollover_and_bills_what_went_through()
    {
        var userNumber = await _host.OpenAccountAsync(initialRegisterLitres: 99_800_000);
        await RecordAsync(userNumber, "2026-03-31", 99_950_000);

        var wrapped = await RecordAsync(userNumber, "2026-06-30", 50_000);

        // 100 000 m³ − 99 950 m³ + 50 m³ = 100 m³.
        Assert.Equal((100_000L, ReadingStatus.Accepted), (wrapped.ConsumptionLitres, wrapped.Status));
        Assert.Equal(250_000, await _host.BilledLitresAsync(userNumber));
    }

    [Fact]
    public async Task A_lower_register_that_would_imply_an_implausible_rollover_is_refused()
    {
        var userNumber = await _host.OpenAccountAsync(initialRegisterLitres: 99_800_000);
        await RecordAsync(userNumber, "2026-03-31", 99_950_000);
        var before = await _host.CountRowsAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => RecordAsync(userNumber, "2026-06-30", 5_000_000));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("as a rollover it would mean 5050000 L", error.Status.Detail);
        Assert.Equal(before, await _host.CountRowsAsync());
    }

    [Fact]
    public async Task After_a_meter_replacement_the_period_bills_the_old_meter_s_rest_and_the_new_meter_s_advance()
    {
        var userNumber = await _host.OpenAccountAsync();
        await RecordAsync(userNumber, "2026-03-31", 100_000);

        var replaced = await Client.ReplaceMeterAsync(new ReplaceMeterRequest
        {
            UserNumber = userNumber, ReplacedOn = "2026-05-15", OldFinalRegisterLitres = 130_000,
            NewMeterSerial = "N-2", NewInitialRegisterLitres = 500,
        });
        // Lower than the old meter showed: the new meter is measured from its own initial register.
        var next = await RecordAsync(userNumber, "2026-06-30", 20_500);

        Assert.Equal((ReadingKind.Final, 30_000L), (replaced.FinalReading.Kind, replaced.FinalReading.ConsumptionLitres));
        Assert.Equal((ReadingKind.Initial, "N-2"), (replaced.InitialReading.Kind, replaced.InitialReading.MeterSerial));
        Assert.Equal(20_000, next.ConsumptionLitres);
        // (old final − last old reading) + (new reading − new initial) on top of the first quarter.
        Assert.Equal(100_000 + 30_000 + 20_000, await _host.BilledLitresAsync(userNumber));

        var history = await Client.GetReadingHistoryAsync(new GetReadingHistoryRequest { UserNumber = userNumber });
        Assert.Equal([$"M-{userNumber}", "N-2"], history.Meters.Select(m => m.Serial));
        Assert.Equal("2026-05-15", history.Meters[0].RemovedOn);
        Assert.Equal([ReadingKind.Initial, ReadingKind.Actual, ReadingKind.Final, ReadingKind.Initial, ReadingKind.Actual],
            history.Readings.Select(r => r.Kind));
        Assert.Equal(150_000, history.BilledConsumptionLitres);
    }

    [Fact]
    public async Task A_replacement_with_a_bad_new_initial_register_is_refused_naming_the_field_and_writes_nothing()
    {
        var userNumber = await _host.OpenAccountAsync();
        var before = await _host.CountRowsAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.ReplaceMeterAsync(new ReplaceMeterRequest
        {
            UserNumber = userNumber, ReplacedOn = "2026-05-15", OldFinalRegisterLitres = 30_000,
            NewMeterSerial = "N-2", NewCapacityLitres = 10_000_000, NewInitialRegisterLitres = 10_000_000,
        }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, "new_initial_register_litres"), (error.StatusCode, ErrorDetails.ViolatedField(error)));
        Assert.Equal(before, await _host.CountRowsAsync());
    }

    [Fact]
    public async Task A_new_account_is_estimated_at_the_default_daily_use_and_the_next_actual_reading_settles_it()
    {
        var userNumber = await _host.OpenAccountAsync();

        var estimate = await EstimateAsync(userNumber, "2026-03-31");
        var again = await EstimateAsync(userNumber, "2026-03-31");
        var actual = await RecordAsync(userNumber, "2026-06-30", 20_000);

        // 300 L a day × 89 days.
        Assert.Equal((ReadingKind.Estimated, 26_700L, 26_700L), (estimate.Kind, estimate.ConsumptionLitres, estimate.RegisterLitres));
        Assert.Equal(estimate.ReadingId, again.ReadingId);
        // actual − estimate: a credit for Billing.
        Assert.Equal(-6_700, actual.ConsumptionLitres);
        Assert.Equal(20_000, await _host.BilledLitresAsync(userNumber));
        var events = await _host.EventsAsync<ReadingAccepted>();
        Assert.Equal(["ESTIMATED", "ACTUAL"], events.Select(e => e.Kind));
    }

    [Fact]
    public async Task An_estimate_follows_the_account_s_own_average_over_the_last_year()
    {
        var userNumber = await _host.OpenAccountAsync();
        await RecordAsync(userNumber, "2026-04-11", 100_000); // 100 days: 1 000 L a day

        var estimate = await EstimateAsync(userNumber, "2026-05-11");

        Assert.Equal(30_000, estimate.ConsumptionLitres);
        Assert.Equal(130_000, estimate.RegisterLitres);
    }

    [Fact]
    public async Task A_consumption_far_above_the_account_s_history_is_held_until_an_operator_releases_it()
    {
        var userNumber = await _host.OpenAccountAsync();
        await RecordAsync(userNumber, "2026-04-11", 100_000); // 1 000 L a day

        var held = await RecordAsync(userNumber, "2026-05-11", 250_000); // 5 000 L a day
        var heldEvents = await _host.EventsAsync<ReadingAccepted>();
        var list = await Client.ListHeldReadingsAsync(new ListHeldReadingsRequest());
        var released = await Client.ReleaseReadingAsync(new ReleaseReadingRequest { ReadingId = held.ReadingId, Note = "pipe burst, confirmed" });
        var twice = await Assert.ThrowsAsync<RpcException>(() => Client.ReleaseReadingAsync(new ReleaseReadingRequest { ReadingId = held.ReadingId }).ResponseAsync);

        Assert.Equal(ReadingStatus.Held, held.Status);
        Assert.Contains("times the account's average", held.HoldReason);
        Assert.Single(heldEvents);
        Assert.Equal((held.ReadingId, userNumber), (Assert.Single(list.Readings).ReadingId, list.Readings[0].UserNumber));
        Assert.Equal(ReadingStatus.Accepted, released.Status);
        Assert.Equal(StatusCode.FailedPrecondition, twice.StatusCode);
        Assert.Empty((await Client.ListHeldReadingsAsync(new ListHeldReadingsRequest())).Readings);
        Assert.Equal(250_000, await _host.BilledLitresAsync(userNumber));
    }

    [Fact]
    public async Task A_consumption_above_the_absolute_cap_is_held_and_a_correction_releases_it_with_the_right_value()
    {
        var userNumber = await _host.OpenAccountAsync();

        var held = await RecordAsync(userNumber, "2026-03-31", 600_000);
        var corrected = await Client.CorrectReadingAsync(new CorrectReadingRequest
        {
            ReadingId = held.ReadingId, RegisterLitres = 60_000, Reason = "digit misread by the reader",
        });

        Assert.Equal(ReadingStatus.Held, held.Status);
        Assert.Contains("above the cap", held.HoldReason);
        Assert.Equal((ReadingStatus.Accepted, 60_000L), (corrected.Reading.Status, corrected.Reading.ConsumptionLitres));
        // Billing never saw the held value: the corrected reading reaches it as accepted, not as a correction.
        Assert.Empty(await _host.EventsAsync<ReadingCorrected>());
        Assert.Equal(60_000, await _host.BilledLitresAsync(userNumber));
    }

    [Fact]
    public async Task Correcting_a_reading_changes_its_consumption_and_the_next_one_and_tells_Billing_both()
    {
        var userNumber = await _host.OpenAccountAsync();
        await RecordAsync(userNumber, "2026-03-31", 100_000);
        var second = await RecordAsync(userNumber, "2026-06-30", 150_000);
        var third = await RecordAsync(userNumber, "2026-09-30", 260_000);

        var answer = await Client.CorrectReadingAsync(new CorrectReadingRequest
        {
            ReadingId = second.ReadingId, RegisterLitres = 140_000, Reason = "photo shows 140 m³",
        });

        Assert.Equal([(second.ReadingId, 50_000L, 40_000L), (third.ReadingId, 110_000L, 120_000L)],
            answer.Changes.Select(c => (c.ReadingId, c.OldConsumptionLitres, c.NewConsumptionLitres)));
        var events = await _host.EventsAsync<ReadingCorrected>();
        Assert.Equal([(second.ReadingId, 50_000L, 40_000L), (third.ReadingId, 110_000L, 120_000L)],
            events.Select(e => (e.ReadingId.ToString(), e.OldConsumptionLitres, e.NewConsumptionLitres)));
        Assert.Equal("photo shows 140 m³", events[0].Reason);
        Assert.Equal((140_000L, 260_000L), (events[1].PreviousRegisterLitres, events[1].RegisterLitres));
        Assert.Equal(260_000, await _host.BilledLitresAsync(userNumber));

        var history = await Client.GetReadingHistoryAsync(new GetReadingHistoryRequest { UserNumber = userNumber });
        var correction = Assert.Single(history.Corrections);
        Assert.Equal((150_000L, 140_000L, "photo shows 140 m³"), (correction.OldRegisterLitres, correction.NewRegisterLitres, correction.Reason));
        Assert.True(history.Readings.Single(r => r.ReadingId == second.ReadingId).Corrected);
    }

    [Fact]
    public async Task A_correction_that_would_make_the_next_reading_run_backwards_is_refused_and_writes_nothing()
    {
        var userNumber = await _host.OpenAccountAsync();
        var first = await RecordAsync(userNumber, "2026-03-31", 100_000);
        await RecordAsync(userNumber, "2026-06-30", 150_000);
        var before = await _host.CountRowsAsync();

        var backwards = await Assert.ThrowsAsync<RpcException>(() => Client.CorrectReadingAsync(new CorrectReadingRequest
        {
            ReadingId = first.ReadingId, RegisterLitres = 160_000, Reason = "typo",
        }).ResponseAsync);
        var noReason = await Assert.ThrowsAsync<RpcException>(() => Client.CorrectReadingAsync(new CorrectReadingRequest
        {
            ReadingId = first.ReadingId, RegisterLitres = 90_000,
        }).ResponseAsync);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => Client.CorrectReadingAsync(new CorrectReadingRequest
        {
            ReadingId = Guid.NewGuid().ToString(), RegisterLitres = 90_000, Reason = "typo",
        }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, backwards.StatusCode);
        Assert.Equal((StatusCode.InvalidArgument, "reason"), (noReason.StatusCode, ErrorDetails.ViolatedField(noReason)));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(before, await _host.CountRowsAsync());
        Assert.Empty(await _host.EventsAsync<ReadingCorrected>());
    }
}
