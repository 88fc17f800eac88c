using System.Diagnostics.Tracing;

/// <summary>
/// <c>--alloc-types</c>: which types the host allocates during the bulk load, from the runtime's allocation ticks (one
/// event per about 100 KB allocated, naming the type whose allocation crossed the mark), so that the bytes per reading
/// the benchmark prints can be traced to their sources without a profiler.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const int GcKeyword = 0x1;
    private readonly Dictionary<string, long> _bytesByType = [];
    private volatile bool _recording;

    public void Start() => _recording = true;

    public void Stop() => _recording = false;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_recording || e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null)
            return;
        var type = e.PayloadNames?.IndexOf("TypeName") is >= 0 and var t ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames?.IndexOf("AllocationAmount64") is >= 0 and var a ? Convert.ToInt64(e.Payload[a]) : 100_000;
        lock (_bytesByType)
            _bytesByType[type] = _bytesByType.GetValueOrDefault(type) + amount;
    }

    /// <summary>The types with the most sampled bytes, per reading.</summary>
    public IEnumerable<string> Top(int count, long readings)
    {
        lock (_bytesByType)
            return _bytesByType.OrderByDescending(kv => kv.Value).Take(count)
                .Select(kv => $"  {kv.Value / (double)readings,8:F0} B/reading  {kv.Key}").ToList();
    }
}
