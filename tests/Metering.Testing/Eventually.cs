namespace Metering.Testing;

/// <summary>Waits for something that happens asynchronously (an event crossing the bus), with a deadline.</summary>
public static class Eventually
{
    public static async Task<T> Get<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        Exception? last = null;
        T? value = default;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                value = await probe();
                if (done(value))
                    return value;
                last = null;
            }
            catch (Exception ex)
            {
                last = ex;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException(
            $"timed out waiting for {what ?? "the condition"}; last value: {value}; last error: {last?.Message}", last);
    }

    public static Task<T> Get<T>(Func<Task<T>> probe, TimeSpan? timeout = null, string? what = null) =>
        Get(probe, _ => true, timeout, what);
}
