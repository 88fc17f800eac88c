using Metering.Hosting.Security;
using Metering.Readings.Data;

namespace Metering.Readings.Grpc;

/// <summary>Who may call each Readings RPC (issue 8): operators record and correct, auditors read.</summary>
public sealed class ReadingsAccessPolicy : AccessPolicy
{
    public ReadingsAccessPolicy() : base(Contracts.Readings.V1.Readings.Descriptor, typeof(ReadingsDbContext))
    {
        Allow("RecordReading", Access.Change, Operators);
        Allow("EstimateReading", Access.Change, Operators);
        Allow("ImportReadings", Access.Change, Operators);
        Allow("StreamReadings", Access.Change, Operators);
        Allow("ReplaceMeter", Access.Change, Operators);
        Allow("CorrectReading", Access.Change, Operators);
        Allow("ReleaseReading", Access.Change, Operators);
        Allow("ListReadings", Access.Read, Readers);
        Allow("ListHeldReadings", Access.Read, Readers);
        Allow("GetReadingHistory", Access.Read, Readers);
    }
}
