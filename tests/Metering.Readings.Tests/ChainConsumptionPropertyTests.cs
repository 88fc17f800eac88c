using FsCheck;
using FsCheck.Xunit;
using Metering.Readings.Domain;

namespace Metering.Readings.Tests;

/// <summary>
/// DESIGN.md §4.2 as an invariant of the pure domain, over thousands of random histories: whatever happens
/// to a meter — rollovers, replacements (with registers of other sizes), estimates paid back by the next
/// actual reading, anomaly holds released later, misreads corrected in any order — the consumption passed
/// to Billing adds up to the water that truly went through the meters. The history is driven through the
/// same domain calls the service makes (<see cref="ReadingChain"/> for readings and estimates,
/// <see cref="Consumption"/> for a replaced meter's final reading, <see cref="Corrections"/> for corrections);
/// <see cref="BillableConsumptionPropertyTests"/> checks the same through the gRPC surface on fewer histories.
/// </summary>
public sealed class ChainConsumptionPropertyTests
{
    private const string UserNumber = "1000000016";

    [Property(MaxTest = 3000)]
    public bool Consumption_passed_to_Billing_adds_up_to_true_consumption(PositiveInt seed) => new History(seed.Get).Run();

    [Fact]
    public void The_random_histories_cover_every_case()
    {
        var seen = new Dictionary<string, int>();
        for (var seed = 1; seed <= 500; seed++)
        {
            var history = new History(seed);
            Assert.True(history.Run(), $"history {seed} does not add up");
            foreach (var (what, count) in history.Seen)
                seen[what] = seen.GetValueOrDefault(what) + count;
        }
        foreach (var what in new[] { "rollover", "replacement", "estimate", "negative after estimate", "hold", "correction", "correction of next" })
            Assert.True(seen.GetValueOrDefault(what) > 10, $"only {seen.GetValueOrDefault(what)} × {what} in 500 histories");
    }

    /// <summary>One account's random history: the true register of its meters, and what Billing was told.</summary>
    private sealed class History(int seed)
    {
        private readonly Random _random = new(seed);
        private readonly ReadingRules _rules = ReadingRules.Default;
        private readonly List<ChainReading> _readings = [];
        private readonly List<(Guid Id, long TrueRegister)> _misreads = [];
        private readonly Dictionary<Guid, MeterRegister> _meters = [];
        private MeterRegister _register = MeterRegister.Default;
        private DateOnly _installedOn = new(2024, 1, 1);
        private long _trueRegister;
        private long _trueTotal;
        private long _billed;

        public Dictionary<string, int> Seen { get; } = [];

        public bool Run()
        {
            // One history in three starts just below the top of the register, so it rolls over.
            _trueRegister = _random.Next(3) == 0 ? _register.CapacityLitres - 1 - _random.Next(0, 200_000) : _random.Next(0, 1_000_000);
            _readings.Add(new ChainReading(Guid.NewGuid(), 1, _installedOn, _trueRegister, ReadingKind.Initial, ReadingStatus.Accepted, 0, null, null));
            _meters[_readings[0].Id] = _register;
            var date = _installedOn;
            var lastWasMisread = false;
            var estimatesInARow = 0;
            var steps = _random.Next(4, 20);
            for (var step = 1; step <= steps; step++)
            {
                date = date.AddDays(_random.Next(1, 80));
                // Mostly ordinary use; now and then a burst far above the account's habit (an anomaly hold).
                // At most two estimates in a row keep a rollover's implied consumption plausible.
                var used = _random.Next(8) == 0 ? _random.Next(50_000, 150_001) : _random.Next(0, 40_001);
                var last = step == steps;
                var choice = _random.Next(10);
                if (!last && !lastWasMisread && estimatesInARow < 2 && choice < 2)
                {
                    Estimate(date, used);
                    estimatesInARow++;
                    continue;
                }
                estimatesInARow = 0;
                if (!last && choice == 2)
                {
                    Replace(date, used);
                    lastWasMisread = false;
                }
                else
                    lastWasMisread = Read(date, used, misread: !last && choice >= 8);
            }

            // Operators: the misreads are corrected in any order, then every reading still held is released.
            foreach (var (id, register) in _misreads.OrderBy(_ => _random.Next()))
                Correct(id, register);
            for (var i = 0; i < _readings.Count; i++)
                if (_readings[i].Status == ReadingStatus.Held)
                {
                    _billed += _readings[i].ConsumptionLitres;
                    _readings[i] = _readings[i] with { Status = ReadingStatus.Accepted };
                }

            var stored = _readings.Sum(r => r.ConsumptionLitres);
            return _billed == _trueTotal && stored == _trueTotal;
        }

        /// <summary>The chain as the service loads it for a new reading: the current meter and the whole history.</summary>
        private ReadingChain Chain() =>
            new(UserNumber, closed: false, closedOn: null, _register, _installedOn, _readings[^1], _readings);

        private void Estimate(DateOnly date, long used)
        {
            // No access: the meter runs on unseen and the reading is estimated.
            Use(used);
            var recorded = Chain().RecordEstimate(date, _rules, Guid.NewGuid());
            Store(recorded);
            Count("estimate");
        }

        private bool Read(DateOnly date, long used, bool misread)
        {
            var wrapped = _trueRegister + used >= _register.CapacityLitres;
            Use(used);
            // A reader's slip: a lower value (never below the previous reading), corrected by an operator later.
            misread = misread && !wrapped && used > 0;
            var reported = misread ? _trueRegister - _random.Next(1, (int)used + 1) : _trueRegister;
            var afterEstimate = _readings[^1].Kind == ReadingKind.Estimated;
            var recorded = Chain().RecordActual(new NewReading(date, reported), _rules, Guid.NewGuid());
            Store(recorded);
            if (misread)
                _misreads.Add((recorded.Reading.Id, _trueRegister));
            if (wrapped)
                Count("rollover");
            if (afterEstimate && recorded.Reading.ConsumptionLitres < 0)
                Count("negative after estimate");
            if (recorded.Outcome == RecordOutcome.Held)
                Count("hold");
            return misread;
        }

        private void Replace(DateOnly date, long used)
        {
            // The old meter's final reading is measured like any reading and billed; the new meter starts a
            // register of its own (sometimes a smaller one, sometimes near its top, so that it rolls over too).
            var wrapped = _trueRegister + used >= _register.CapacityLitres;
            Use(used);
            var chain = Chain();
            var consumption = Consumption.Measure(chain.PreviousOfHead(), date, _trueRegister, _register, _rules);
            var head = _readings[^1];
            _readings.Add(new ChainReading(Guid.NewGuid(), head.Sequence + 1, date, _trueRegister, ReadingKind.Final,
                ReadingStatus.Accepted, consumption, head.ReadOn, head.RegisterLitres));
            _billed += consumption;

            _register = _random.Next(2) == 0 ? MeterRegister.Default : new MeterRegister(10_000_000);
            _installedOn = date;
            _trueRegister = _random.Next(4) == 0 ? _register.CapacityLitres - 1 - _random.Next(0, 100_000) : _random.Next(0, 5_000);
            var initial = new ChainReading(Guid.NewGuid(), head.Sequence + 2, date, _trueRegister, ReadingKind.Initial,
                ReadingStatus.Accepted, 0, null, null);
            _readings.Add(initial);
            _meters[initial.Id] = _register;
            Count("replacement");
            if (wrapped)
                Count("rollover");
        }

        private void Correct(Guid id, long register)
        {
            var n = _readings.FindIndex(r => r.Id == id);
            var reading = _readings[n];
            var next = n + 1 < _readings.Count ? _readings[n + 1] : null;
            // The reading's own meter: the register of the meter installed last at or before it.
            var meterRegister = RegisterOf(n);
            var (consumption, nextConsumption) = Corrections.Remeasure(_readings.Take(n).ToList(), reading, next, register, meterRegister, _rules);

            // A held reading is released with its corrected value; an accepted one is rebilled by the difference.
            _billed += reading.Status == ReadingStatus.Held ? consumption : consumption - reading.ConsumptionLitres;
            _readings[n] = reading with { RegisterLitres = register, ConsumptionLitres = consumption, Status = ReadingStatus.Accepted };
            Count("correction");
            if (next is not null && nextConsumption is { } changed)
            {
                // A held N+1 just takes its new value; Billing gets it when it is released.
                if (next.Status == ReadingStatus.Accepted)
                    _billed += changed - next.ConsumptionLitres;
                _readings[n + 1] = next with { PreviousRegisterLitres = register, ConsumptionLitres = changed };
                if (changed != next.ConsumptionLitres)
                    Count("correction of next");
            }
        }

        /// <summary>The register of the meter a reading was taken on: the one whose initial reading came last before it.</summary>
        private MeterRegister RegisterOf(int index)
        {
            for (var i = index; ; i--)
                if (_readings[i].Kind == ReadingKind.Initial)
                    return _meters[_readings[i].Id];
        }

        private void Use(long used)
        {
            _trueRegister = (_trueRegister + used) % _register.CapacityLitres;
            _trueTotal += used;
        }

        private void Store(Recorded recorded)
        {
            Assert.NotEqual(RecordOutcome.Duplicate, recorded.Outcome);
            _readings.Add(recorded.Reading);
            // Held readings reach Billing only when released or corrected.
            if (recorded.Outcome == RecordOutcome.Accepted)
                _billed += recorded.Reading.ConsumptionLitres;
        }

        private void Count(string what) => Seen[what] = Seen.GetValueOrDefault(what) + 1;
    }
}
