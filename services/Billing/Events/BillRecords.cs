using Metering.Billing.Data;
using Metering.Billing.Domain;
using Metering.Contracts.Events;

namespace Metering.Billing.Events;

/// <summary>Turning a computed bill into rows and events, shared by billing runs and corrections.</summary>
internal static class BillRecords
{
    public static Bill NewBill(string userNumber, Consumption first, Consumption last, BillComputation computed,
        DateOnly dueDate, DateTime issuedAt) => new()
    {
        Id = MassTransit.NewId.NextGuid(),
        UserNumber = userNumber,
        Status = BillStatus.Issued,
        PeriodStart = first.PreviousReadOn,
        PeriodEnd = last.ReadOn,
        PreviousRegisterLitres = first.PreviousRegisterLitres,
        CurrentRegisterLitres = last.RegisterLitres,
        VolumeLitres = computed.VolumeLitres,
        YearToDateLitres = computed.BilledLitresAfter.GetValueOrDefault(last.ReadOn.Year),
        AmountFen = computed.AmountFen,
        DueDate = dueDate,
        TariffCode = computed.Lines.Select(l => l.Tariff).LastOrDefault() ?? "",
        IssuedAt = issuedAt,
        Lines = computed.Lines.Select((l, i) => new BillLine
        {
            LineNumber = i + 1,
            Year = l.Year,
            Tier = l.Tier,
            VolumeLitres = l.VolumeLitres,
            PriceFenPerM3 = l.PriceFenPerM3,
            AmountFen = l.AmountFen,
            TariffName = l.Tariff,
        }).ToList(),
    };

    public static BillLineItem ToItem(BillLine line) =>
        new(line.Year, line.Tier, line.VolumeLitres, line.PriceFenPerM3, line.AmountFen, line.TariffName);

    public static IssuedBill Issued(Bill bill) =>
        new(bill.Id, bill.UserNumber, bill.PeriodStart, bill.PeriodEnd, bill.VolumeLitres, bill.AmountFen, bill.DueDate);

    /// <summary>Sets an account's year positions (tracked rows in <paramref name="positions"/>) to the computed ones.</summary>
    public static void MovePositions(BillingDbContext db, Dictionary<(string, int), YearPosition> positions,
        string userNumber, IReadOnlyDictionary<int, long> after)
    {
        foreach (var (year, billed) in after)
        {
            if (positions.TryGetValue((userNumber, year), out var position))
            {
                position.BilledLitres = billed;
            }
            else
            {
                position = new YearPosition { UserNumber = userNumber, Year = year, BilledLitres = billed };
                positions[(userNumber, year)] = position;
                db.YearPositions.Add(position);
            }
        }
    }
}
