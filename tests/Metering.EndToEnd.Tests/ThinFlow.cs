namespace Metering.EndToEnd.Tests;

/// <summary>The flow of the README and of issue 2, with the figures DESIGN.md §4.3 works out.</summary>
internal static class ThinFlow
{
    public static readonly (string ReadOn, long RegisterLitres, long ConsumptionLitres, long BillFen)[] Readings =
    [
        ("2026-03-31", 100_000, 100_000, 33_200),
        ("2026-06-30", 150_000, 50_000, 17_158),
        ("2026-09-30", 260_000, 110_000, 52_290),
    ];

    public const long BalanceFen = 102_648;
    public const long PaymentFen = 50_000;
    public const long OutstandingAfterPaymentFen = 52_648;
}
