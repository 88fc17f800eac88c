using FsCheck.Xunit;
using Metering.Billing.Domain;

namespace Metering.Billing.Tests;

/// <summary>
/// Thousands of random reading histories (random dates and volumes, estimates corrected downwards,
/// operator corrections of billed and unbilled readings, runs at random moments, year boundaries), billed
/// the way the service bills them: for every year the standing bills add up to R(C(annual volume)) to the
/// fen, every bill's lines add up to the bill, and the year positions equal the annual volumes.
/// </summary>
public class HistoryPropertyTests
{
    private static readonly Tariff Liaocheng = Tariff.Liaocheng;
    private static readonly ChargeBasis Basis = ChargeBasis.Of(Liaocheng);

    private sealed class Reading(DateOnly from, DateOnly to, long litres)
    {
        public DateOnly From { get; } = from;
        public DateOnly To { get; } = to;
        public long Litres { get; set; } = litres;
        public BillState? Bill { get; set; }
        public ConsumptionInterval Interval => new(From, 0, To, Litres, Litres);
    }

    private sealed record BillState(BillComputation Computed)
    {
        public bool Cancelled { get; set; }
    }

    [Property(MaxTest = 3000)]
    public bool Every_year_of_any_history_adds_up_to_the_rounded_annual_charge(int seed)
    {
        var random = new Random(seed);
        var readings = new List<Reading>();
        var bills = new List<BillState>();
        var positions = new Dictionary<int, long>();
        var date = new DateOnly(2024, 9, 1).AddDays(random.Next(200));
        var lastWasEstimate = false;

        for (var step = random.Next(1, 40); step > 0; step--)
        {
            var action = random.Next(10);
            if (action < 6)
            {
                var next = date.AddDays(random.Next(0, 150));
                // After an estimate, the actual reading may be lower: a negative consumption, billed as a credit.
                var litres = lastWasEstimate && random.Next(2) == 0 ? -random.Next(0, 40_000) : random.Next(0, 160_000);
                readings.Add(new Reading(date, next, litres));
                lastWasEstimate = random.Next(4) == 0;
                date = next;
            }
            else if (action < 8)
            {
                // A run with a cut-off somewhere in the history bills each account's unbilled readings up to it.
                var cutOff = readings.Count == 0 ? date : readings[random.Next(readings.Count)].To;
                var unbilled = readings.Where(r => r.Bill is null && r.To <= cutOff)
                    .OrderBy(r => r.To).ThenBy(r => r.From).ToList();
                if (unbilled.Count == 0)
                    continue;
                var bill = new BillState(BillCalculator.Bill(Basis, unbilled.Select(r => r.Interval), positions));
                positions = new Dictionary<int, long>(bill.Computed.BilledLitresAfter);
                bills.Add(bill);
                unbilled.ForEach(r => r.Bill = bill);
            }
            else if (readings.Count > 0)
            {
                // A correction: unbilled, the value changes; billed, its bill is cancelled and re-issued.
                var reading = readings[random.Next(readings.Count)];
                long corrected = random.Next(-20_000, 160_000);
                if (reading.Bill is not { } old)
                {
                    reading.Litres = corrected;
                    continue;
                }
                var rebill = new BillState(BillCalculator.Rebill(Basis, old.Computed.Lines, old.Computed.VolumeLitres,
                    reading.Interval, corrected, positions));
                old.Cancelled = true;
                positions = new Dictionary<int, long>(rebill.Computed.BilledLitresAfter);
                bills.Add(rebill);
                reading.Litres = corrected;
                foreach (var r in readings.Where(r => r.Bill == old))
                    r.Bill = rebill;
            }
        }
        // The final run bills everything left.
        var rest = readings.Where(r => r.Bill is null).OrderBy(r => r.To).ThenBy(r => r.From).ToList();
        if (rest.Count > 0)
        {
            var last = new BillState(BillCalculator.Bill(Basis, rest.Select(r => r.Interval), positions));
            positions = new Dictionary<int, long>(last.Computed.BilledLitresAfter);
            bills.Add(last);
        }

        var annualVolumes = readings
            .SelectMany(r => YearSplit.Split(r.From, r.To, r.Litres))
            .GroupBy(s => s.Year)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.Litres));
        var standing = bills.Where(b => !b.Cancelled).ToList();
        var years = annualVolumes.Keys.Union(positions.Keys).Union(standing.SelectMany(b => b.Computed.Lines).Select(l => l.Year));
        return bills.All(b => b.Computed.Lines.Sum(l => l.AmountFen) == b.Computed.AmountFen)
            && years.All(year =>
            {
                var volume = annualVolumes.GetValueOrDefault(year);
                var lines = standing.SelectMany(b => b.Computed.Lines).Where(l => l.Year == year).ToList();
                return positions.GetValueOrDefault(year) == volume
                    && lines.Sum(l => l.VolumeLitres) == volume
                    && lines.Sum(l => l.AmountFen) == Liaocheng.RoundedCharge(volume);
            });
    }

    [Property(MaxTest = 1000)]
    public bool Splitting_only_at_new_year_is_the_year_split(int startDraw, ushort daysDraw, int litres)
    {
        var from = new DateOnly(2020, 1, 1).AddDays(Math.Abs(startDraw % 3_000));
        var to = from.AddDays(daysDraw % 900);

        var parts = PeriodSplit.Split(from, to, litres, []);
        var byYear = parts.GroupBy(p => p.Start.Year).Select(g => new YearShare(g.Key, g.Sum(p => p.Litres))).Where(s => s.Litres != 0);

        return byYear.SequenceEqual(YearSplit.Split(from, to, litres)) && parts.Sum(p => p.Litres) == litres;
    }
}
