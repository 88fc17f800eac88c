using FsCheck.Xunit;
using Metering.Billing.Domain;

namespace Metering.Billing.Tests;

/// <summary>The invariants of DESIGN.md §4.3, for any consumption the generator can think of.</summary>
public class BillingPropertyTests
{
    private static readonly Tariff Liaocheng = Tariff.Liaocheng;

    /// <summary>Up to ~150 m³ per reading; a negative draw becomes a credit that never takes the year below zero.</summary>
    private static List<long> Consumptions(int[]? draws)
    {
        var result = new List<long>();
        long position = 0;
        foreach (var draw in draws ?? [])
        {
            long q = draw >= 0 ? draw % 150_001 : -Math.Min(-(long)draw % 60_001, position);
            result.Add(q);
            position += q;
        }
        return result;
    }

    [Property(MaxTest = 500)]
    public bool The_bills_of_a_year_add_up_to_the_rounded_annual_charge(int[] draws)
    {
        long position = 0;
        long billed = 0;
        foreach (var q in Consumptions(draws))
        {
            billed += BillCalculator.Charge(Liaocheng, 2026, position, q).Sum(l => l.AmountFen);
            position += q;
        }
        return position >= 0 && billed == Liaocheng.RoundedCharge(position);
    }

    [Property(MaxTest = 500)]
    public bool Lines_add_up_to_the_bill_and_its_volume(int billedDraw, int litresDraw)
    {
        long billed = Math.Abs((long)billedDraw) % 400_000;
        long litres = (long)litresDraw % 300_000;

        var lines = BillCalculator.Charge(Liaocheng, 2026, billed, litres);

        var expected = Liaocheng.RoundedCharge(billed + litres) - Liaocheng.RoundedCharge(billed);
        return lines.Sum(l => l.AmountFen) == expected
            && lines.Sum(l => l.VolumeLitres) == litres
            && lines.All(l => Math.Sign(l.VolumeLitres) == Math.Sign(litres) && l.Year == 2026)
            && lines.Select(l => l.Tier).Distinct().Count() == lines.Count;
    }

    [Property(MaxTest = 500)]
    public bool The_year_split_conserves_litres(int startDraw, ushort daysDraw, int litresDraw)
    {
        var from = new DateOnly(2020, 1, 1).AddDays(Math.Abs(startDraw % 3_000));
        var to = from.AddDays(daysDraw % 900);
        long litres = litresDraw;

        var shares = YearSplit.Split(from, to, litres);

        return shares.Sum(s => s.Litres) == litres
            && shares.All(s => s.Year >= from.Year && s.Year <= to.Year && Math.Sign(s.Litres) == Math.Sign(litres))
            && shares.Select(s => s.Year).SequenceEqual(shares.Select(s => s.Year).Order().Distinct());
    }

    /// <summary>
    /// Readings at any dates across several years, grouped into bills in any way: every year's lines
    /// add up to R(C(that year's volume)), and every bill's lines to its amount.
    /// </summary>
    [Property(MaxTest = 300)]
    public bool Bills_over_any_dates_and_groupings_add_up_per_year(int[] draws, byte[] gaps, byte[] groupSizes)
    {
        var consumptions = Consumptions(draws);
        gaps ??= [];
        groupSizes ??= [];
        var intervals = new List<ConsumptionInterval>();
        var readOn = new DateOnly(2025, 10, 1);
        long register = 0;
        for (var i = 0; i < consumptions.Count; i++)
        {
            var next = readOn.AddDays(gaps.Length == 0 ? 30 : gaps[i % gaps.Length] % 120);
            intervals.Add(new ConsumptionInterval(readOn, register, next, register + consumptions[i], consumptions[i]));
            register += consumptions[i];
            readOn = next;
        }

        var positions = new Dictionary<int, long>();
        var linesByYear = new Dictionary<int, long>();
        var linesAddUp = true;
        for (int start = 0, g = 0; start < intervals.Count; g++)
        {
            var size = 1 + (groupSizes.Length == 0 ? 0 : groupSizes[g % groupSizes.Length] % 4);
            var bill = BillCalculator.Bill(Liaocheng, intervals.Skip(start).Take(size), positions);
            linesAddUp &= bill.Lines.Sum(l => l.AmountFen) == bill.AmountFen
                && bill.VolumeLitres == intervals.Skip(start).Take(size).Sum(i => i.ConsumptionLitres);
            foreach (var line in bill.Lines)
                linesByYear[line.Year] = linesByYear.GetValueOrDefault(line.Year) + line.AmountFen;
            positions = new Dictionary<int, long>(bill.BilledLitresAfter);
            start += size;
        }

        var annualVolumes = intervals
            .SelectMany(i => YearSplit.Split(i.PreviousReadOn, i.ReadOn, i.ConsumptionLitres))
            .GroupBy(s => s.Year)
            .ToDictionary(y => y.Key, y => y.Sum(s => s.Litres));
        return linesAddUp
            && annualVolumes.All(y => positions.GetValueOrDefault(y.Key) == y.Value)
            && annualVolumes.All(y => linesByYear.GetValueOrDefault(y.Key) == Liaocheng.RoundedCharge(y.Value));
    }
}
