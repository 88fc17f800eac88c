using Metering.Domain;
using Metering.Readings.Domain;

namespace Metering.Readings.Tests;

/// <summary>The chain's rules without a database: what single readings and bulk rows both go through.</summary>
public class ReadingChainTests
{
    private static DateOnly D(string text) => DateOnly.Parse(text);

    private static ReadingChain NewChain(bool closed = false, DateOnly? closedOn = null, long initial = 0)
    {
        var head = new ChainReading(Guid.NewGuid(), 1, D("2026-01-01"), initial, ReadingKind.Initial, ReadingStatus.Accepted, 0, null, null);
        return new ReadingChain("1000000016", closed, closedOn, MeterRegister.Default, D("2026-01-01"), head, [head]);
    }

    [Fact]
    public void The_same_reading_twice_is_a_duplicate_and_another_value_on_that_date_is_refused()
    {
        var chain = NewChain();
        var first = chain.RecordActual(new NewReading(D("2026-03-31"), 100_000), ReadingRules.Default, Guid.NewGuid());

        var again = chain.RecordActual(new NewReading(D("2026-03-31"), 100_000), ReadingRules.Default, Guid.NewGuid());
        var other = Assert.Throws<FailedPreconditionException>(() =>
            chain.RecordActual(new NewReading(D("2026-03-31"), 100_001), ReadingRules.Default, Guid.NewGuid()));

        Assert.Equal((RecordOutcome.Duplicate, first.Reading), (again.Outcome, again.Reading));
        Assert.Contains("needs a correction", other.Message);
        Assert.Equal(2, chain.Head.Sequence);
        Assert.Single(chain.Added);
    }

    [Fact]
    public void A_closed_account_takes_its_move_out_reading_but_nothing_dated_after_closing()
    {
        var chain = NewChain(closed: true, closedOn: D("2026-06-30"));

        var moveOut = chain.RecordActual(new NewReading(D("2026-06-30"), 90_000), ReadingRules.Default, Guid.NewGuid());

        Assert.Equal(RecordOutcome.Accepted, moveOut.Outcome);
        Assert.Throws<FailedPreconditionException>(() => chain.RecordEstimate(D("2026-07-31"), ReadingRules.Default, Guid.NewGuid()));
    }

    [Fact]
    public void Consecutive_estimates_are_paid_back_by_the_next_actual_reading()
    {
        var chain = NewChain();
        var rules = ReadingRules.Default;

        var e1 = chain.RecordEstimate(D("2026-01-31"), rules, Guid.NewGuid()); // 30 days × 300 L
        var e2 = chain.RecordEstimate(D("2026-03-02"), rules, Guid.NewGuid()); // 30 days × 300 L (the estimate's own average)
        var actual = chain.RecordActual(new NewReading(D("2026-03-31"), 10_000), rules, Guid.NewGuid());

        Assert.Equal((9_000L, 9_000L), (e1.Reading.ConsumptionLitres, e2.Reading.ConsumptionLitres));
        Assert.Equal(10_000 - 18_000, actual.Reading.ConsumptionLitres);
        Assert.Equal(10_000, chain.Added.Sum(r => r.ConsumptionLitres));
    }

    [Fact]
    public void A_reading_before_the_meter_s_installation_is_an_invalid_read_on()
    {
        var error = Assert.Throws<InvalidArgumentException>(() =>
            NewChain().RecordActual(new NewReading(D("2025-12-31"), 0), ReadingRules.Default, Guid.NewGuid()));
        Assert.Equal("read_on", error.Field);
    }
}
