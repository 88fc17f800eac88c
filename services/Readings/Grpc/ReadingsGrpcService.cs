using System.Globalization;
using Grpc.Core;
using Metering.Contracts.Readings.V1;
using Metering.Domain;
using Metering.Readings.Data;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Proto = Metering.Contracts.Readings.V1;
using Reading = Metering.Readings.Data.Reading;
using ReadingKind = Metering.Readings.Domain.ReadingKind;
using ReadingRow = Metering.Readings.Domain.ReadingRow;
using ReadingStatus = Metering.Readings.Domain.ReadingStatus;

namespace Metering.Readings.Grpc;

/// <param name="services">The request's scope: each RPC takes only what it uses (a single reading on SQLite needs no
/// DbContext of its own, and building the context, the corrector and the bulk ingestor was a measurable part of it).</param>
public sealed class ReadingsGrpcService(IServiceProvider services, UtilityCalendar calendar, TimeProvider clock)
    : Proto.Readings.ReadingsBase
{
    private ReadingsDbContext Db => services.GetRequiredService<ReadingsDbContext>();
    private ReadingRecorder Recorder => services.GetRequiredService<ReadingRecorder>();
    private ReadingCorrector Corrector => services.GetRequiredService<ReadingCorrector>();

    /// <summary>A route file sent as one JSON/gRPC request; larger loads use <see cref="StreamReadings"/>.</summary>
    public const int MaxImportRows = 100_000;

    private DateOnly Today => calendar.Today(clock.GetUtcNow());

    public override async Task<RecordReadingResponse> RecordReading(RecordReadingRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var input = NewReading.Validate(request.ReadOn, request.RegisterLitres, Today);
        var recorded = await Recorder.RecordActualAsync(userNumber, input, context.CancellationToken);
        return ToResponse(recorded.Reading);
    }

    public override async Task<RecordReadingResponse> EstimateReading(EstimateReadingRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var readOn = NewReading.Validate(request.ReadOn, 0, Today).ReadOn;
        var recorded = await Recorder.RecordEstimateAsync(userNumber, readOn, context.CancellationToken);
        return ToResponse(recorded.Reading);
    }

    public override async Task<ListReadingsResponse> ListReadings(ListReadingsRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var account = await FindAccountAsync(userNumber, context.CancellationToken);
        var readings = await ReadingsOf(account.Id).OrderByDescending(r => r.Sequence).ToListAsync(context.CancellationToken);
        var serials = await SerialsAsync(account.Id, context.CancellationToken);
        return new ListReadingsResponse
        {
            UserNumber = userNumber.Value,
            Readings = { readings.Select(r => ToProto(r, userNumber.Value, serials, corrected: r.CorrectedAt != null)) },
        };
    }

    public override async Task<ReplaceMeterResponse> ReplaceMeter(ReplaceMeterRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var replacedOn = DateText.Parse(request.ReplacedOn, "replaced_on");
        if (replacedOn > Today)
            throw new InvalidArgumentException("replaced_on", $"{DateText.Format(replacedOn)} is in the future (today is {DateText.Format(Today)})");
        var serial = request.NewMeterSerial?.Trim() ?? "";
        if (serial.Length is 0 or > 32 || !serial.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            throw new InvalidArgumentException("new_meter_serial", "must be 1–32 letters, digits or '-'");
        if (request.NewCapacityLitres < 0 || request.NewCapacityLitres is > 0 and < 1_000)
            throw new InvalidArgumentException("new_capacity_litres", $"must be 0 (the default) or at least 1000 L, got {request.NewCapacityLitres}");
        if (request.OldFinalRegisterLitres < 0)
            throw new InvalidArgumentException("old_final_register_litres", $"must not be negative, got {request.OldFinalRegisterLitres}");
        var register = request.NewCapacityLitres == 0 ? MeterRegister.Default : new MeterRegister(request.NewCapacityLitres);

        var (final, initial, meter) = await Recorder.ReplaceMeterAsync(userNumber, replacedOn, request.OldFinalRegisterLitres,
            serial, register, request.NewInitialRegisterLitres, context.CancellationToken);
        var serials = await SerialsAsync(final.AccountId, context.CancellationToken);
        return new ReplaceMeterResponse
        {
            FinalReading = ToProto(final, userNumber.Value, serials),
            InitialReading = ToProto(initial, userNumber.Value, serials),
        };
    }

    public override async Task<CorrectReadingResponse> CorrectReading(CorrectReadingRequest request, ServerCallContext context)
    {
        var readingId = ParseReadingId(request.ReadingId);
        if (request.RegisterLitres < 0)
            throw new InvalidArgumentException("register_litres", $"must not be negative, got {request.RegisterLitres}");
        var reason = request.Reason?.Trim() ?? "";
        if (reason.Length is 0 or > 500)
            throw new InvalidArgumentException("reason", "an operator's correction needs a reason of 1–500 characters");

        var (reading, changes) = await Corrector.CorrectAsync(readingId, request.RegisterLitres, reason, context.CancellationToken);
        var userNumber = await Db.Accounts.Where(a => a.Id == reading.AccountId).Select(a => a.UserNumber).SingleAsync(context.CancellationToken);
        var serials = await SerialsAsync(reading.AccountId, context.CancellationToken);
        return new CorrectReadingResponse
        {
            Reading = ToProto(reading, userNumber, serials, corrected: true),
            Changes =
            {
                changes.Select(c => new ConsumptionChange
                {
                    ReadingId = c.Reading.Id.ToString(),
                    OldConsumptionLitres = c.OldConsumptionLitres,
                    NewConsumptionLitres = c.Reading.ConsumptionLitres,
                }),
            },
        };
    }

    public override async Task<Proto.Reading> ReleaseReading(ReleaseReadingRequest request, ServerCallContext context)
    {
        var reading = await Corrector.ReleaseAsync(ParseReadingId(request.ReadingId), context.CancellationToken);
        var userNumber = await Db.Accounts.Where(a => a.Id == reading.AccountId).Select(a => a.UserNumber).SingleAsync(context.CancellationToken);
        return ToProto(reading, userNumber, await SerialsAsync(reading.AccountId, context.CancellationToken));
    }

    public override async Task<ListHeldReadingsResponse> ListHeldReadings(ListHeldReadingsRequest request, ServerCallContext context)
    {
        if (request.Limit is < 0 or > 1000)
            throw new InvalidArgumentException("limit", $"must be 0–1000, got {request.Limit}");
        var limit = request.Limit == 0 ? 100 : request.Limit;
        var held = await HeldReadings(Db, limit).ToListAsync(context.CancellationToken);
        return new ListHeldReadingsResponse
        {
            Readings = { held.Select(h => ToProto(h.Reading, h.UserNumber, new Dictionary<long, string> { [h.Reading.MeterId] = h.Serial })) },
        };
    }

    /// <summary>The oldest held readings first (served by the index of held readings, IX_Readings_Held).</summary>
    public static IQueryable<HeldReading> HeldReadings(ReadingsDbContext db, int limit) => (
            from r in db.Readings.AsNoTracking()
            where r.Status == ReadingStatus.Held
            join a in db.Accounts on r.AccountId equals a.Id
            join m in db.Meters on r.MeterId equals m.Id
            orderby r.RecordedAt, r.Id
            select new HeldReading(r, a.UserNumber, m.Serial))
        .Take(limit);

    public sealed record HeldReading(Reading Reading, string UserNumber, string Serial);

    public override async Task<ReadingHistory> GetReadingHistory(GetReadingHistoryRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var userNumber = UserNumber.Parse(request.UserNumber);
        var account = await FindAccountAsync(userNumber, ct);
        var readings = await ReadingsOf(account.Id).OrderBy(r => r.Sequence).ToListAsync(ct);
        var meters = await Db.Meters.AsNoTracking().Where(m => m.AccountId == account.Id).OrderBy(m => m.Id).ToListAsync(ct);
        var corrections = await Db.Corrections.AsNoTracking().Where(c => c.AccountId == account.Id).OrderBy(c => c.Id).ToListAsync(ct);
        var byReading = readings.ToDictionary(r => r.Id);
        var serials = meters.ToDictionary(m => m.Id, m => m.Serial);
        return new ReadingHistory
        {
            UserNumber = account.UserNumber,
            Status = account.Status == AccountStatus.Closed ? "CLOSED" : "OPEN",
            ClosedOn = DateText.Format(account.ClosedOn),
            Readings = { readings.Select(r => ToProto(r, account.UserNumber, serials, r.CorrectedAt != null)) },
            Meters =
            {
                meters.Select(m => new Proto.Meter
                {
                    Serial = m.Serial,
                    CapacityLitres = m.CapacityLitres,
                    InitialRegisterLitres = m.InitialRegisterLitres,
                    InstalledOn = DateText.Format(m.InstalledOn),
                    RemovedOn = DateText.Format(m.RemovedOn),
                }),
            },
            Corrections =
            {
                corrections.Select(c => new Correction
                {
                    ReadingId = c.ReadingId.ToString(),
                    ReadOn = DateText.Format(byReading[c.ReadingId].ReadOn),
                    OldRegisterLitres = c.OldRegisterLitres,
                    NewRegisterLitres = c.NewRegisterLitres,
                    OldConsumptionLitres = c.OldConsumptionLitres,
                    NewConsumptionLitres = c.NewConsumptionLitres,
                    Reason = c.Reason,
                    CorrectedAt = DateTime.SpecifyKind(c.CorrectedAt, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture),
                }),
            },
            BilledConsumptionLitres = readings.Where(r => r.Status == ReadingStatus.Accepted).Sum(r => r.ConsumptionLitres),
            HeldConsumptionLitres = readings.Where(r => r.Status == ReadingStatus.Held).Sum(r => r.ConsumptionLitres),
        };
    }

    public override async Task<ImportReadingsResponse> ImportReadings(ImportReadingsRequest request, ServerCallContext context)
    {
        var rows = ReadingRouteFile.Parse(request.Csv);
        if (rows.Count > MaxImportRows)
            throw new InvalidArgumentException("csv", $"has {rows.Count} rows; send at most {MaxImportRows} per request, or use StreamReadings");
        var response = new ImportReadingsResponse();
        await using var pipeline = new BulkPipeline(services, results => Add(response, results, includeAccepted: true));
        foreach (var chunk in rows.Chunk(pipeline.ChunkRows))
            await pipeline.AddAsync(chunk, context.CancellationToken);
        await pipeline.CompleteAsync();
        return response;
    }

    public override async Task<ImportReadingsResponse> StreamReadings(IAsyncStreamReader<Proto.ReadingRow> requestStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var response = new ImportReadingsResponse();
        // One chunk is written while the next is received and measured: the stream and the database work side by side.
        await using var pipeline = new BulkPipeline(services, results => Add(response, results, includeAccepted: false));
        var chunkRows = pipeline.ChunkRows;
        var chunk = new List<ReadingRow>(chunkRows);
        long number = 0;
        await foreach (var message in requestStream.ReadAllAsync(ct))
        {
            // A message is one row, or a batch of rows (meter-data systems send thousands per message).
            if (message.Rows.Count == 0)
                chunk.Add(FromProto(++number, message));
            else if (message.UserNumber.Length > 0 || message.ReadOn.Length > 0 || message.RegisterLitres != 0 || message.Kind != Proto.ReadingKind.Unspecified)
                chunk.Add(Malformed(++number, message, "a message with rows carries nothing else: put this reading into rows too"));
            else
            {
                foreach (var row in message.Rows)
                {
                    chunk.Add(row.Rows.Count == 0 ? FromProto(++number, row) : Malformed(++number, row, "batches do not nest"));
                    // A large batch is cut into chunks like a stream of single rows.
                    if (chunk.Count >= chunkRows)
                        await FlushAsync();
                }
            }
            if (chunk.Count >= chunkRows)
                await FlushAsync();
        }
        if (chunk.Count > 0)
            await pipeline.AddAsync(chunk, ct);
        await pipeline.CompleteAsync();
        return response;

        async Task FlushAsync()
        {
            await pipeline.AddAsync(chunk, ct);
            chunk = new List<ReadingRow>(chunkRows);
        }
    }

    private static ReadingRow Malformed(long number, Proto.ReadingRow row, string reason) =>
        new(number, row.UserNumber, row.ReadOn, 0, ReadingKind.Actual, new InvalidArgumentException("rows", reason));

    private static ReadingRow FromProto(long number, Proto.ReadingRow row) => row.Kind switch
    {
        Proto.ReadingKind.Unspecified or Proto.ReadingKind.Actual =>
            new ReadingRow(number, row.UserNumber, row.ReadOn, row.RegisterLitres, ReadingKind.Actual),
        Proto.ReadingKind.Estimated => new ReadingRow(number, row.UserNumber, row.ReadOn, 0, ReadingKind.Estimated),
        _ => new ReadingRow(number, row.UserNumber, row.ReadOn, 0, ReadingKind.Actual,
            new InvalidArgumentException("kind", $"{row.Kind} readings are not loaded in bulk; use ACTUAL or ESTIMATED")),
    };

    private static void Add(ImportReadingsResponse response, IngestResult[] results, bool includeAccepted)
    {
        foreach (var result in results)
        {
            response.Rows++;
            switch (result.Outcome)
            {
                case IngestOutcome.Accepted: response.Accepted++; break;
                case IngestOutcome.Held: response.Held++; break;
                case IngestOutcome.Duplicate: response.Duplicates++; break;
                default: response.Refused++; break;
            }
            if (!includeAccepted && result.Outcome == IngestOutcome.Accepted)
                continue;
            response.Results.Add(new RowResult
            {
                Row = result.Row,
                UserNumber = result.UserNumber ?? "",
                Outcome = result.Outcome switch
                {
                    IngestOutcome.Accepted => RowOutcome.RowAccepted,
                    IngestOutcome.Held => RowOutcome.RowHeld,
                    IngestOutcome.Duplicate => RowOutcome.RowDuplicate,
                    _ => RowOutcome.RowRefused,
                },
                ReadingId = result.ReadingId?.ToString() ?? "",
                ConsumptionLitres = result.ConsumptionLitres,
                Field = result.Field ?? "",
                Reason = result.Reason ?? "",
            });
        }
    }

    private static Guid ParseReadingId(string? text) =>
        Guid.TryParse(text, out var id) ? id : throw new InvalidArgumentException("reading_id", $"'{text}' is not a reading id");

    private async Task<Account> FindAccountAsync(UserNumber userNumber, CancellationToken ct) =>
        await Db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.UserNumber == userNumber.Value, ct)
        ?? throw new NotFoundException("account", userNumber.Value);

    private IQueryable<Reading> ReadingsOf(long accountId) => Db.Readings.AsNoTracking().Where(r => r.AccountId == accountId);

    private Task<Dictionary<long, string>> SerialsAsync(long accountId, CancellationToken ct) =>
        Db.Meters.AsNoTracking().Where(m => m.AccountId == accountId).ToDictionaryAsync(m => m.Id, m => m.Serial, ct);

    private static RecordReadingResponse ToResponse(ChainReading reading) => new()
    {
        ReadingId = reading.Id.ToString(),
        ConsumptionLitres = reading.ConsumptionLitres,
        Status = ToProto(reading.Status),
        PreviousReadOn = DateText.Format(reading.PreviousReadOn),
        PreviousRegisterLitres = reading.PreviousRegisterLitres ?? 0,
        RegisterLitres = reading.RegisterLitres,
        Kind = ToProto(reading.Kind),
        HoldReason = reading.HoldReason ?? "",
    };

    private static Proto.Reading ToProto(Reading reading, string userNumber, IReadOnlyDictionary<long, string> serials, bool corrected = false) => new()
    {
        ReadingId = reading.Id.ToString(),
        ReadOn = DateText.Format(reading.ReadOn),
        RegisterLitres = reading.RegisterLitres,
        ConsumptionLitres = reading.ConsumptionLitres,
        Kind = ToProto(reading.Kind),
        Status = ToProto(reading.Status),
        UserNumber = userNumber,
        MeterSerial = serials.GetValueOrDefault(reading.MeterId, ""),
        HoldReason = reading.HoldReason ?? "",
        Corrected = corrected || reading.CorrectedAt != null,
        PreviousReadOn = DateText.Format(reading.PreviousReadOn),
    };

    private static Proto.ReadingKind ToProto(ReadingKind kind) => kind switch
    {
        ReadingKind.Initial => Proto.ReadingKind.Initial,
        ReadingKind.Actual => Proto.ReadingKind.Actual,
        ReadingKind.Estimated => Proto.ReadingKind.Estimated,
        ReadingKind.Final => Proto.ReadingKind.Final,
        _ => Proto.ReadingKind.Unspecified,
    };

    private static Proto.ReadingStatus ToProto(ReadingStatus status) => status switch
    {
        ReadingStatus.Accepted => Proto.ReadingStatus.Accepted,
        ReadingStatus.Held => Proto.ReadingStatus.Held,
        _ => Proto.ReadingStatus.Unspecified,
    };
}
