namespace Metering.Readings.Domain;

public enum ReadingKind
{
    /// <summary>The meter's register value when it was installed: the first reading of every meter.</summary>
    Initial,
    Actual,
    Estimated,

    /// <summary>A replaced meter's last register value, recorded with the replacement.</summary>
    Final,
}

public enum ReadingStatus
{
    /// <summary>Its consumption went to Billing.</summary>
    Accepted,

    /// <summary>Accepted but held for an operator's review (anomalies), not billed yet.</summary>
    Held,
}
