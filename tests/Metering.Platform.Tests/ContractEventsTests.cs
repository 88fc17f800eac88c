using System.Collections;
using System.Text.Json;
using Metering.Contracts.Events;
using Metering.Hosting.Messaging;
using Metering.Testing;

namespace Metering.Platform.Tests;

/// <summary>
/// Every integration event must survive the outbox: a row the relay cannot turn back into its message
/// fails on every pass and holds back every row written after it.
/// </summary>
public sealed class ContractEventsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    public static TheoryData<Type> ContractTypes()
    {
        var data = new TheoryData<Type>();
        foreach (var type in typeof(AccountOpened).Assembly.GetExportedTypes()
                     .Where(t => t.Namespace == typeof(AccountOpened).Namespace && t is { IsClass: true, IsAbstract: false })
                     .OrderBy(t => t.Name))
            data.Add(type);
        return data;
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public async Task A_contract_message_comes_out_of_the_outbox_as_it_went_in(Type type)
    {
        var message = Sample.Of(type);
        await using var host = await PlatformHost.StartAsync(_folder.File("platform.db"), new PlatformHostOptions { RelayEnabled = false });

        var row = await host.InDbAsync(async db =>
        {
            var queued = db.Publish(message);
            await db.SaveChangesAsync();
            return queued;
        });
        Assert.Equal(1, await host.Relay.PublishPendingAsync(CancellationToken.None));

        var published = Assert.Single(host.Probe.All, o => o.MessageId == row.MessageId);
        Assert.IsType(type, published.Message);
        Assert.Equal(JsonSerializer.Serialize(message, type), JsonSerializer.Serialize(published.Message, type));
    }

    /// <summary>A value for every constructor parameter, none of them default, so that a lost field shows.</summary>
    internal static class Sample
    {
        private static int _seed = 1;

        public static object Of(Type type)
        {
            var n = Interlocked.Increment(ref _seed);
            if (type == typeof(string)) return $"text-{n}";
            if (type == typeof(int)) return n;
            if (type == typeof(long)) return 1_000_000_000_000L + n;
            if (type == typeof(bool)) return true;
            if (type == typeof(decimal)) return 12.34m + n;
            if (type == typeof(Guid)) return Guid.NewGuid();
            if (type == typeof(DateOnly)) return new DateOnly(2026, 3, 31).AddDays(n);
            if (type == typeof(DateTime)) return new DateTime(2026, 3, 31, 8, 30, 0, DateTimeKind.Utc).AddMinutes(n);
            if (type == typeof(DateTimeOffset)) return new DateTimeOffset(2026, 3, 31, 8, 30, 0, TimeSpan.FromHours(8)).AddMinutes(n);
            if (type.IsEnum) return Enum.GetValues(type).GetValue(Enum.GetValues(type).Length - 1)!;
            if (Nullable.GetUnderlyingType(type) is { } inner) return Of(inner);
            if (type.IsArray || (type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type)))
            {
                var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments()[0];
                var list = Array.CreateInstance(element, 2);
                list.SetValue(Of(element), 0);
                list.SetValue(Of(element), 1);
                return list;
            }
            var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
            return constructor.Invoke(constructor.GetParameters().Select(p => Of(p.ParameterType)).ToArray());
        }
    }
}
