using FsCheck;
using FsCheck.Xunit;
using Metering.Contracts.Readings.V1;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

namespace Metering.Readings.Tests;

/// <summary>One host for every generated history (each history gets its own account).</summary>
public sealed class PropertyHost : IDisposable
{
    private long _nextBody = 300_000_000;

    public ReadingsHost Host { get; } = new();

    public long NextBody() => Interlocked.Increment(ref _nextBody);

    public void Dispose() => Host.Dispose();
}

/// <summary>
/// DESIGN.md §4.2 as an invariant: whatever happens to a meter — rollovers, replacements, estimates,
/// misreads corrected later, holds released — the consumption passed to Billing adds up to the water
/// that truly went through the meters.
/// </summary>
public sealed class BillableConsumptionPropertyTests(PropertyHost fixture) : IClassFixture<PropertyHost>
{
    private ReadingsHost Host => fixture.Host;

    private ReadingsClient Client => new(Host.Channel);

    [Property(MaxTest = 12)]
    public bool Consumption_passed_to_Billing_adds_up_to_true_consumption(PositiveInt seed) =>
        Task.Run(() => RunHistoryAsync(seed.Get)).GetAwaiter().GetResult();

    private async Task<bool> RunHistoryAsync(int seed)
    {
        var random = new Random(seed);
        const long capacity = 100_000_000;
        // One history in three starts just below the top of the register, so it rolls over.
        var trueRegister = random.Next(3) == 0 ? capacity - 1 - random.Next(0, 200_000) : random.Next(0, 1_000_000);
        var userNumber = await Host.OpenAccountAsync(fixture.NextBody(), trueRegister, "2024-01-01");
        var date = new DateOnly(2024, 1, 1);
        long trueTotal = 0;
        var misreads = new List<(string ReadingId, long TrueRegister)>();
        var lastWasMisread = false;
        var steps = random.Next(4, 14);

        for (var step = 1; step <= steps; step++)
        {
            date = date.AddDays(random.Next(20, 71));
            var used = random.Next(0, 40_001);
            var last = step == steps;
            var choice = random.Next(10);
            var readOn = date.ToString("yyyy-MM-dd");

            if (!last && !lastWasMisread && choice < 2)
            {
                // No access: the meter runs on unseen and the reading is estimated.
                trueRegister = (trueRegister + used) % capacity;
                trueTotal += used;
                await Client.EstimateReadingAsync(new EstimateReadingRequest { UserNumber = userNumber, ReadOn = readOn });
                lastWasMisread = false;
            }
            else if (!last && choice == 2)
            {
                var final = (trueRegister + used) % capacity;
                trueTotal += used;
                trueRegister = random.Next(0, 5_000);
                await Client.ReplaceMeterAsync(new ReplaceMeterRequest
                {
                    UserNumber = userNumber, ReplacedOn = readOn, OldFinalRegisterLitres = final,
                    NewMeterSerial = $"R-{seed}-{step}", NewInitialRegisterLitres = trueRegister,
                });
                lastWasMisread = false;
            }
            else
            {
                var wrapped = trueRegister + used >= capacity;
                trueRegister = (trueRegister + used) % capacity;
                trueTotal += used;
                // A reader's slip: a lower value (never below the previous reading), corrected by an operator later.
                var misread = !last && !wrapped && used > 0 && choice >= 8;
                var reported = misread ? trueRegister - random.Next(1, used + 1) : trueRegister;
                var answer = await Client.RecordReadingAsync(new RecordReadingRequest
                {
                    UserNumber = userNumber, ReadOn = readOn, RegisterLitres = reported,
                });
                if (misread)
                    misreads.Add((answer.ReadingId, trueRegister));
                lastWasMisread = misread;
            }
        }

        foreach (var (readingId, register) in misreads.OrderBy(_ => random.Next()))
            await Client.CorrectReadingAsync(new CorrectReadingRequest { ReadingId = readingId, RegisterLitres = register, Reason = "misread" });
        var held = await Client.ListHeldReadingsAsync(new ListHeldReadingsRequest { Limit = 1000 });
        foreach (var reading in held.Readings.Where(r => r.UserNumber == userNumber))
            await Client.ReleaseReadingAsync(new ReleaseReadingRequest { ReadingId = reading.ReadingId, Note = "checked" });

        var billed = await Host.BilledLitresAsync(userNumber);
        var history = await Client.GetReadingHistoryAsync(new GetReadingHistoryRequest { UserNumber = userNumber });
        return billed == trueTotal && history.BilledConsumptionLitres == trueTotal && history.HeldConsumptionLitres == 0;
    }
}
