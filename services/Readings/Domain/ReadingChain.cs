using Metering.Domain;

namespace Metering.Readings.Domain;

/// <summary>A reading as the chain sees it: enough to measure from it, average over it and answer a re-send.</summary>
public sealed record ChainReading(
    Guid Id,
    int Sequence,
    DateOnly ReadOn,
    long RegisterLitres,
    ReadingKind Kind,
    ReadingStatus Status,
    long ConsumptionLitres,
    DateOnly? PreviousReadOn,
    long? PreviousRegisterLitres,
    string? HoldReason = null);

public enum RecordOutcome
{
    Accepted,
    Held,

    /// <summary>The same reading was recorded before; <see cref="Recorded.Reading"/> is that one.</summary>
    Duplicate,
}

public sealed record Recorded(RecordOutcome Outcome, ChainReading Reading);

/// <summary>
/// One account's readings on its current meter, in memory: the head (the reading the next one is
/// measured from) and the recent readings (at least the last 12 months). Every new reading goes
/// through here — single RPCs, estimates and bulk loads alike — so all apply the same rules
/// (DESIGN.md §4.2). No I/O: the Data layer loads it and stores what it returns.
/// </summary>
public sealed class ReadingChain
{
    private readonly List<ChainReading> _recent;

    /// <param name="recent">The readings of at least the last 12 months, or (with <paramref name="summed"/>) those not summed up.</param>
    /// <param name="summed">
    /// Older usage a loader summed up instead of loading (bulk loads on SQLite); <paramref name="recent"/> then still holds
    /// the head, the readings behind a head that is an estimate, and every reading on or after the earliest date recorded.
    /// </param>
    public ReadingChain(string userNumber, bool closed, DateOnly? closedOn, MeterRegister register, DateOnly installedOn,
        ChainReading head, IEnumerable<ChainReading> recent, UsageTotal? summed = null)
    {
        Summed = summed;
        UserNumber = userNumber;
        Closed = closed;
        ClosedOn = closedOn;
        Register = register;
        InstalledOn = installedOn;
        Head = head;
        // A plain loop, sorting only when the loader did not: bulk loads build thousands of chains per chunk.
        _recent = recent is IReadOnlyCollection<ChainReading> known ? new List<ChainReading>(known.Count + 2) : [];
        var sorted = true;
        foreach (var r in recent)
        {
            if (r.Sequence > head.Sequence)
                continue;
            if (_recent.Count > 0 && _recent[^1].Sequence >= r.Sequence)
                sorted = false;
            _recent.Add(r);
        }
        if (!sorted)
            _recent.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        if (_recent.Count == 0 || _recent[^1].Sequence != head.Sequence)
            _recent.Add(head);
    }

    public string UserNumber { get; }
    public bool Closed { get; }
    public DateOnly? ClosedOn { get; }
    public MeterRegister Register { get; }
    public DateOnly InstalledOn { get; }
    public ChainReading Head { get; private set; }

    /// <summary>Usage counted by the 12-month average without its readings being loaded (null: all of them are in <see cref="Recent"/>).</summary>
    public UsageTotal? Summed { get; }

    /// <summary>Readings added to the chain since it was loaded (what the caller must store).</summary>
    public List<ChainReading> Added { get; } = [];

    public IReadOnlyList<ChainReading> Recent => _recent;

    public Recorded RecordActual(NewReading input, ReadingRules rules, Guid id)
    {
        Register.Check(input.RegisterLitres);
        CheckAfterInstallation(input.ReadOn);

        var sameDay = LastOn(input.ReadOn, ReadingKind.Actual);
        if (sameDay is not null)
        {
            if (sameDay.RegisterLitres == input.RegisterLitres)
                return new Recorded(RecordOutcome.Duplicate, sameDay);
            throw new FailedPreconditionException(
                $"account {UserNumber} already has a reading of {sameDay.RegisterLitres} L on {DateText.Format(input.ReadOn)}; " +
                "a different value for that date needs a correction");
        }
        CheckOpen(input.ReadOn);

        var consumption = Consumption.Measure(PreviousOfHead(), input.ReadOn, input.RegisterLitres, Register, rules);
        var days = input.ReadOn.DayNumber - Head.ReadOn.DayNumber;
        var hold = consumption > 0 ? UsageHistory.AnomalyReason(consumption, days, UsageHistory.Average(_recent, input.ReadOn, Summed), rules) : null;
        return Append(id, input.ReadOn, input.RegisterLitres, ReadingKind.Actual, consumption, hold);
    }

    /// <summary>
    /// An estimate for <paramref name="readOn"/>: the account's average daily use over the last 12 months
    /// (or the default for a new account) times the days since the head. Billed like an actual reading;
    /// the next actual reading is measured from it and so corrects it.
    /// </summary>
    public Recorded RecordEstimate(DateOnly readOn, ReadingRules rules, Guid id)
    {
        CheckAfterInstallation(readOn);
        var sameDay = LastOn(readOn, ReadingKind.Estimated);
        if (sameDay is not null)
            return new Recorded(RecordOutcome.Duplicate, sameDay);
        CheckOpen(readOn);
        if (readOn <= Head.ReadOn)
            throw new FailedPreconditionException(
                $"an estimate on {DateText.Format(readOn)} must come after the last reading on {DateText.Format(Head.ReadOn)}");

        var perDay = UsageHistory.Average(_recent, readOn, Summed)?.LitresPerDay ?? rules.DefaultDailyLitres;
        var days = readOn.DayNumber - Head.ReadOn.DayNumber;
        var consumption = (long)decimal.Round(perDay * days, MidpointRounding.AwayFromZero);
        // An estimate that passes the top of the register wraps, as the register itself would.
        var register = (Head.RegisterLitres + consumption) % Register.CapacityLitres;
        return Append(id, readOn, register, ReadingKind.Estimated, consumption, hold: null);
    }

    /// <summary>The head as the next reading sees it (with the real register behind an estimate).</summary>
    public PreviousReading PreviousOfHead() => PreviousReading.Of(_recent);

    private Recorded Append(Guid id, DateOnly readOn, long register, ReadingKind kind, long consumption, string? hold)
    {
        var reading = new ChainReading(id, Head.Sequence + 1, readOn, register, kind,
            hold is null ? ReadingStatus.Accepted : ReadingStatus.Held, consumption, Head.ReadOn, Head.RegisterLitres, hold);
        _recent.Add(reading);
        Added.Add(reading);
        Head = reading;
        return new Recorded(hold is null ? RecordOutcome.Accepted : RecordOutcome.Held, reading);
    }

    /// <summary>The latest recent reading of <paramref name="kind"/> on <paramref name="readOn"/> (a plain loop: this runs for every bulk row).</summary>
    private ChainReading? LastOn(DateOnly readOn, ReadingKind kind)
    {
        for (var i = _recent.Count - 1; i >= 0; i--)
        {
            var r = _recent[i];
            if (r.ReadOn == readOn && r.Kind == kind)
                return r;
        }
        return null;
    }

    private void CheckAfterInstallation(DateOnly readOn)
    {
        if (readOn < InstalledOn)
            throw new InvalidArgumentException("read_on",
                $"{DateText.Format(readOn)} is before the meter's installation on {DateText.Format(InstalledOn)}");
    }

    private void CheckOpen(DateOnly readOn)
    {
        if (Closed && (ClosedOn is null || readOn > ClosedOn))
            throw new FailedPreconditionException(ClosedOn is { } on
                ? $"account {UserNumber} was closed on {DateText.Format(on)}: it takes no readings after that date"
                : $"account {UserNumber} is closed: it takes no more readings");
    }
}
