namespace Metering.Deployment.Tests;

/// <summary>The four services of the distributed mode and the ports they use outside containers.</summary>
internal static class Services
{
    public static readonly (string Name, int HttpPort, int GrpcPort)[] All =
    [
        ("Accounts", 5110, 5111),
        ("Readings", 5120, 5121),
        ("Billing", 5130, 5131),
        ("Payments", 5140, 5141),
    ];

    public static TheoryData<string> Names() => new(All.Select(s => s.Name));
}
