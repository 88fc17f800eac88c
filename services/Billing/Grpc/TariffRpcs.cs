using Grpc.Core;
using Metering.Billing.Data;
using Metering.Billing.Domain;
using Metering.Contracts.Billing.V1;
using Metering.Domain;
using Microsoft.EntityFrameworkCore;
using Proto = Metering.Contracts.Billing.V1;

namespace Metering.Billing.Grpc;

/// <summary>Operators' tariff versions: add a future one, list them, show the one in force.</summary>
public sealed partial class BillingGrpcService
{
    public override async Task<Proto.TariffVersion> CreateTariffVersion(CreateTariffVersionRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var proposed = request.Version ?? throw new InvalidArgumentException("version", "is required");
        var effectiveFrom = DateText.Parse(proposed.EffectiveFrom, "version.effective_from");
        var tiers = proposed.Tiers
            .Select(t => new Domain.TariffTier(t.Tier, t.UpToLitres == 0 ? null : t.UpToLitres, t.PriceFenPerM3))
            .ToList();
        var schedule = await db.LoadScheduleAsync(ct);
        var version = TariffVersionDraft.Validate(proposed.Name, effectiveFrom, tiers,
            proposed.BaseHouseholdSize, proposed.ExtraLitresPerPerson, schedule, calendar.Today(clock.GetUtcNow()));

        db.TariffVersions.Add(new TariffVersionRow
        {
            Name = version.Name,
            EffectiveFrom = version.EffectiveFrom,
            BaseHouseholdSize = version.LargeHousehold?.BaseHouseholdSize,
            ExtraLitresPerPerson = version.LargeHousehold?.ExtraLitresPerPerson,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
            Tiers = version.Base.Tiers.Select(t => new TariffTierRow
            {
                Tier = t.Tier, UpToLitres = t.UpToLitres, PriceFenPerM3 = t.PriceFenPerM3,
            }).ToList(),
        });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another operator added a version with the same start day or name meanwhile: the unique indexes refused this one.
            db.ChangeTracker.Clear();
            throw new AlreadyExistsException($"a tariff version named {version.Name} or starting on {DateText.Format(version.EffectiveFrom)} was added meanwhile");
        }
        return ToProto(version);
    }

    public override async Task<ListTariffVersionsResponse> ListTariffVersions(ListTariffVersionsRequest request, ServerCallContext context)
    {
        var schedule = await db.LoadScheduleAsync(context.CancellationToken);
        var response = new ListTariffVersionsResponse();
        response.Versions.AddRange(schedule.Versions.Select(ToProto));
        return response;
    }

    public override async Task<Proto.TariffVersion> GetTariffInForce(GetTariffInForceRequest request, ServerCallContext context)
    {
        var day = string.IsNullOrEmpty(request.On) ? calendar.Today(clock.GetUtcNow()) : DateText.Parse(request.On, "on");
        var schedule = await db.LoadScheduleAsync(context.CancellationToken);
        return ToProto(schedule.InForceOn(day));
    }

    private static Proto.TariffVersion ToProto(Domain.TariffVersion version)
    {
        var proto = new Proto.TariffVersion
        {
            Name = version.Name,
            EffectiveFrom = DateText.Format(version.EffectiveFrom),
            BaseHouseholdSize = version.LargeHousehold?.BaseHouseholdSize ?? 0,
            ExtraLitresPerPerson = version.LargeHousehold?.ExtraLitresPerPerson ?? 0,
        };
        proto.Tiers.AddRange(version.Base.Tiers.Select(t => new Proto.TariffTier
        {
            Tier = t.Tier, UpToLitres = t.UpToLitres ?? 0, PriceFenPerM3 = t.PriceFenPerM3,
        }));
        return proto;
    }
}
