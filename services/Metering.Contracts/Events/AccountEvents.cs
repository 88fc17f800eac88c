namespace Metering.Contracts.Events;

/// <summary>A household became a customer: it has a user number and a meter with an initial register value.</summary>
public sealed record AccountOpened(
    string UserNumber,
    string HolderName,
    string Address,
    string Phone,
    int Persons,
    string MeterSerial,
    long InitialRegisterLitres,
    DateOnly OpenedOn,
    DateTimeOffset OccurredAt);
