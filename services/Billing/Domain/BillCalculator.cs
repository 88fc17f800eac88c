namespace Metering.Billing.Domain;

/// <summary>Consumption between two readings, as Readings accepted it (negative when an actual reading corrects an estimate).</summary>
public sealed record ConsumptionInterval(
    DateOnly PreviousReadOn,
    long PreviousRegisterLitres,
    DateOnly ReadOn,
    long RegisterLitres,
    long ConsumptionLitres);

/// <summary>One tier of one tariff version touched by a bill in one year.</summary>
public sealed record BillLineItem(int Year, int Tier, long VolumeLitres, long PriceFenPerM3, long AmountFen, string Tariff);

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
                tariff.RoundedCharge(end) - tariff.RoundedCharge(start), tariff.Code));
        }
        // A credit walks the tiers back down: show the highest tier first, as it is given back first.
        if (litres < 0)
            lines.Reverse();
        return lines;
    }

    /// <summary>One bill under a single tariff, household size irrelevant (the default tariff has no large-household rule).</summary>
    public static BillComputation Bill(
        Tariff tariff, IEnumerable<ConsumptionInterval> intervals, IReadOnlyDictionary<int, long> billedLitresBefore) =>
        Bill(ChargeBasis.Of(tariff), intervals, billedLitresBefore);

    /// <summary>
    /// One bill over an account's unbilled intervals, taken in date order. Each interval is split by days
    /// at 1 January, at tariff changes and at household size changes; each part bills against its own
    /// year's position with the tariff (and thresholds) in force on its days. Lines of the same year,
    /// tier, price and tariff version are merged.
    /// </summary>
    public static BillComputation Bill(
        ChargeBasis basis, IEnumerable<ConsumptionInterval> intervals, IReadOnlyDictionary<int, long> billedLitresBefore)
    {
        var positions = new Dictionary<int, long>(billedLitresBefore);
        var merged = new List<BillLineItem>();
        long volume = 0;
        var changes = basis.Changes.ToList();
        foreach (var interval in intervals)
        {
            volume = checked(volume + interval.ConsumptionLitres);
            foreach (var part in PeriodSplit.Split(interval.PreviousReadOn, interval.ReadOn, interval.ConsumptionLitres, changes))
            {
                if (part.Litres == 0)
                    continue;
                var year = part.Start.Year;
                var position = positions.GetValueOrDefault(year);
                foreach (var line in Charge(basis.TariffOn(part.Start), year, position, part.Litres))
                    Merge(merged, line);
                positions[year] = checked(position + part.Litres);
            }
        }
        var lines = Ordered(merged);
        return new BillComputation(lines, volume, lines.Sum(l => l.AmountFen), positions);
    }

    /// <summary>
    /// The bill that replaces a cancelled one when the consumption of one of its intervals changed from
    /// <c>before.ConsumptionLitres</c> to <paramref name="newConsumptionLitres"/>. The old lines are kept and
    /// only the change is charged, part by part (year, tariff version, household size) at the year's current
    /// position, so the year's bills still telescope to R(C(annual volume)) and later bills keep their tier
    /// position. The change of each part is new share − old share, so positions stay exactly the sum of the
    /// parts of the current consumption values (floors do not drift by a litre).
    /// </summary>
    public static BillComputation Rebill(
        ChargeBasis basis, IReadOnlyList<BillLineItem> cancelledLines, long cancelledVolumeLitres,
        ConsumptionInterval before, long newConsumptionLitres, IReadOnlyDictionary<int, long> billedLitresNow)
    {
        var changes = basis.Changes.ToList();
        var oldParts = PeriodSplit.Split(before.PreviousReadOn, before.ReadOn, before.ConsumptionLitres, changes);
        var newParts = PeriodSplit.Split(before.PreviousReadOn, before.ReadOn, newConsumptionLitres, changes);
        var positions = new Dictionary<int, long>(billedLitresNow);
        var merged = new List<BillLineItem>();
        foreach (var line in cancelledLines)
            Merge(merged, line);
        for (var i = 0; i < newParts.Count; i++)
        {
            var part = newParts[i];
            var delta = part.Litres - oldParts[i].Litres;
            if (delta == 0)
                continue;
            var year = part.Start.Year;
            var position = positions.GetValueOrDefault(year);
            foreach (var line in Charge(basis.TariffOn(part.Start), year, position, delta))
                Merge(merged, line);
            positions[year] = checked(position + delta);
        }
        var lines = Ordered(merged);
        return new BillComputation(lines, cancelledVolumeLitres + newConsumptionLitres - before.ConsumptionLitres,
            lines.Sum(l => l.AmountFen), positions);
    }

    /// <summary>
    /// The lines that show something, by year, tier, price and tariff version. Merged lines are unique on that
    /// key, so an unstable in-place sort gives the one order (a billing run sorts a few lines per account, millions
    /// of times: no LINQ sorter here).
    /// </summary>
    private static List<BillLineItem> Ordered(List<BillLineItem> merged)
    {
        merged.RemoveAll(static l => l.VolumeLitres == 0 && l.AmountFen == 0);
        merged.Sort(static (x, y) =>
        {
            var c = x.Year.CompareTo(y.Year);
            if (c == 0) c = x.Tier.CompareTo(y.Tier);
            if (c == 0) c = x.PriceFenPerM3.CompareTo(y.PriceFenPerM3);
            return c != 0 ? c : string.CompareOrdinal(x.Tariff, y.Tariff);
        });
        return merged;
    }

    private static void Merge(List<BillLineItem> lines, BillLineItem line)
    {
        var index = lines.FindIndex(l => l.Year == line.Year && l.Tier == line.Tier && l.PriceFenPerM3 == line.PriceFenPerM3
            && l.Tariff == line.Tariff);
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
