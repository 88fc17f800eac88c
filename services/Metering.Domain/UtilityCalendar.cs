namespace Metering.Domain;

/// <summary>
/// "Today" where the utility is. A reading taken at 07:00 in Liaocheng is still "yesterday" in UTC,
/// so every "not in the future" check uses the utility's zone (<c>Utility:TimeZone</c>), not the server's.
/// </summary>
public sealed class UtilityCalendar(TimeZoneInfo zone)
{
    /// <summary>China Standard Time: UTC+8 all year (no daylight saving).</summary>
    public const string DefaultZone = "Asia/Shanghai";

    public TimeZoneInfo Zone { get; } = zone;

    public DateOnly Today(DateTimeOffset now) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, Zone).DateTime);

    /// <summary>The zone named by <paramref name="id"/>; China Standard Time when none is given or the host lacks tz data for it.</summary>
    public static UtilityCalendar For(string? id)
    {
        id = string.IsNullOrWhiteSpace(id) ? DefaultZone : id.Trim();
        if (TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone))
            return new UtilityCalendar(zone);
        if (id == DefaultZone)
            return new UtilityCalendar(TimeZoneInfo.CreateCustomTimeZone(DefaultZone, TimeSpan.FromHours(8), DefaultZone, DefaultZone));
        throw new InvalidOperationException($"Utility:TimeZone '{id}' is not a time zone known to this host");
    }
}
