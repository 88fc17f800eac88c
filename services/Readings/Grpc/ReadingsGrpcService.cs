using Grpc.Core;
using Metering.Contracts.Readings.V1;
using Metering.Domain;
using Metering.Readings.Data;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Proto = Metering.Contracts.Readings.V1;
using Reading = Metering.Readings.Data.Reading;
using ReadingKind = Metering.Readings.Domain.ReadingKind;
using ReadingStatus = Metering.Readings.Domain.ReadingStatus;

namespace Metering.Readings.Grpc;

public sealed class ReadingsGrpcService(ReadingsDbContext db, ReadingRecorder recorder, UtilityCalendar calendar, TimeProvider clock)
    : Proto.Readings.ReadingsBase
{
    public override async Task<RecordReadingResponse> RecordReading(RecordReadingRequest request, ServerCallContext context)
    {
        var userNumber = UserNumber.Parse(request.UserNumber);
        var input = NewReading.Validate(request.ReadOn, request.RegisterLitres, calendar.Today(clock.GetUtcNow()));
        var reading = await recorder.RecordActualAsync(userNumber, input, context.CancellationToken);
        return new RecordReadingResponse
        {
            ReadingId = reading.Id.ToString(),
            ConsumptionLitres = reading.ConsumptionLitres,
            Status = ToProto(reading.Status),
            PreviousReadOn = DateText.Format(reading.PreviousReadOn),
            PreviousRegisterLitres = reading.PreviousRegisterLitres ?? 0,
        };
    }

    public override async Task<ListReadingsResponse> ListReadings(ListReadingsRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var userNumber = UserNumber.Parse(request.UserNumber);
        var accountId = await db.Accounts.AsNoTracking()
            .Where(a => a.UserNumber == userNumber.Value)
            .Select(a => (long?)a.Id)
            .SingleOrDefaultAsync(ct)
            ?? throw new NotFoundException("account", userNumber.Value);
        var readings = await db.Readings.AsNoTracking()
            .Where(r => r.AccountId == accountId)
            .OrderByDescending(r => r.ReadOn).ThenByDescending(r => r.Sequence)
            .ToListAsync(ct);
        return new ListReadingsResponse { UserNumber = userNumber.Value, Readings = { readings.Select(ToProto) } };
    }

    private static Proto.Reading ToProto(Reading reading) => new()
    {
        ReadingId = reading.Id.ToString(),
        ReadOn = DateText.Format(reading.ReadOn),
        RegisterLitres = reading.RegisterLitres,
        ConsumptionLitres = reading.ConsumptionLitres,
        Kind = reading.Kind switch
        {
            ReadingKind.Initial => Proto.ReadingKind.Initial,
            ReadingKind.Actual => Proto.ReadingKind.Actual,
            ReadingKind.Estimated => Proto.ReadingKind.Estimated,
            _ => Proto.ReadingKind.Unspecified,
        },
        Status = ToProto(reading.Status),
    };

    private static Proto.ReadingStatus ToProto(ReadingStatus status) => status switch
    {
        ReadingStatus.Accepted => Proto.ReadingStatus.Accepted,
        ReadingStatus.Held => Proto.ReadingStatus.Held,
        _ => Proto.ReadingStatus.Unspecified,
    };
}
