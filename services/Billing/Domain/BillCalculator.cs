namespace Metering.Billing.Domain;

/// <summary>Consumption between two readings, as Readings accepted it (negative when an actual reading corrects an estimate).</summary>
public sealed record ConsumptionInterval(
    DateOnly PreviousReadOn,
    long PreviousRegisterLitres,
    DateOnly ReadOn,
    long RegisterLitres,
    long ConsumptionLitres);

/// <summary>One tier touched by a bill in one year.</summary>
public sealed record BillLineItem(int Year, int Tier, long VolumeLitres, long PriceFenPerM3, long AmountFen);

/// <summary>
/// What a bill charges: its lines (adding up to <see cref="AmountFen"/>), its volume, and the
/// billed volume per year after it (the new tier positions).
/// </summary>
public sealed record BillComputation(
    IReadOnlyList<BillLineItem> Lines,
    long VolumeLitres,
    long AmountFen,
    IReadOnlyDictionary<int, long> BilledLitresAfter);

/// <summary>
/// The tiered charge of consumption against a year's position. A bill for q litres when b are
/// already billed in the year is R(C(b+q)) − R(C(b)); each line is R(C(segment end)) − R(C(segment
/// start)) for the part of the walk inside one tier, so the lines telescope to the bill amount and a
/// year's bills telescope to R(C(annual volume)), whatever the reading dates, estimates and credits.
/// </summary>
public static class BillCalculator
{
    /// <summary>Lines for moving one year's position from <paramref name="billedLitres"/> by <paramref name="litres"/> (up or down).</summary>
    public static IReadOnlyList<BillLineItem> Charge(Tariff tariff, int year, long billedLitres, long litres)
    {
        if (litres == 0)
            return [];
        var from = billedLitres;
        var to = checked(billedLitres + litres);
        var low = Math.Min(from, to);
        var high = Math.Max(from, to);

        var lines = new List<BillLineItem>(tariff.Tiers.Count);
        foreach (var tier in tariff.Tiers)
        {
            var (lower, upper) = tariff.Range(tier);
            var segmentLow = Math.Max(low, lower);
            var segmentHigh = Math.Min(high, upper);
            if (segmentHigh <= segmentLow)
                continue;
            var (start, end) = litres > 0 ? (segmentLow, segmentHigh) : (segmentHigh, segmentLow);
            lines.Add(new BillLineItem(year, tier.Tier, end - start, tier.PriceFenPerM3,
                tariff.RoundedCharge(end) - tariff.RoundedCharge(start)));
        }
        // A credit walks the tiers back down: show the highest tier first, as it is given back first.
        if (litres < 0)
            lines.Reverse();
        return lines;
    }

    /// <summary>
    /// One bill over an account's unbilled intervals, taken in date order. Each interval is split
    /// between calendar years and each part bills against its own year's position; lines of the
    /// same year, tier and price are merged.
    /// </summary>
    public static BillComputation Bill(
        Tariff tariff, IEnumerable<ConsumptionInterval> intervals, IReadOnlyDictionary<int, long> billedLitresBefore)
    {
        var positions = new Dictionary<int, long>(billedLitresBefore);
        var merged = new List<BillLineItem>();
        long volume = 0;
        foreach (var interval in intervals)
        {
            volume = checked(volume + interval.ConsumptionLitres);
            foreach (var share in YearSplit.Split(interval.PreviousReadOn, interval.ReadOn, interval.ConsumptionLitres))
            {
                var position = positions.GetValueOrDefault(share.Year);
                foreach (var line in Charge(tariff, share.Year, position, share.Litres))
                    Merge(merged, line);
                positions[share.Year] = position + share.Litres;
            }
        }
        var lines = merged
            .Where(l => l.VolumeLitres != 0 || l.AmountFen != 0)
            .OrderBy(l => l.Year).ThenBy(l => l.Tier).ThenBy(l => l.PriceFenPerM3)
            .ToList();
        return new BillComputation(lines, volume, lines.Sum(l => l.AmountFen), positions);
    }

    private static void Merge(List<BillLineItem> lines, BillLineItem line)
    {
        var index = lines.FindIndex(l => l.Year == line.Year && l.Tier == line.Tier && l.PriceFenPerM3 == line.PriceFenPerM3);
        if (index < 0)
            lines.Add(line);
        else
            lines[index] = lines[index] with
            {
                VolumeLitres = lines[index].VolumeLitres + line.VolumeLitres,
                AmountFen = lines[index].AmountFen + line.AmountFen,
            };
    }
}
