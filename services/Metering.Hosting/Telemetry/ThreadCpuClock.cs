using System.Runtime.InteropServices;

namespace Metering.Hosting.Telemetry;

/// <summary>
/// CPU time of the calling thread (Linux; zero elsewhere), for the bulk writers' logs and metrics (a billing run's chunks,
/// Readings' bulk chunks): on a shared machine the wall time of a chunk swings with the load, the CPU its thread spent on
/// it does not.
/// </summary>
public static class ThreadCpuClock
{
    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID

    public static TimeSpan Now()
    {
        if (!OperatingSystem.IsLinux())
            return TimeSpan.Zero;
        return clock_gettime(ClockThreadCpuTime, out var time) == 0
            ? TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100)
            : TimeSpan.Zero;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc")]
    private static extern int clock_gettime(int clock, out TimeSpec time);
}
