using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Metering.Accounts.Data;
using Metering.Accounts.Domain;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Events;
using Metering.Domain;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Account = Metering.Accounts.Data.Account;
using AccountStatus = Metering.Accounts.Data.AccountStatus;
using HandoverManifest = Metering.Contracts.Accounts.V1.HandoverManifest;
using HandoverLine = Metering.Contracts.Accounts.V1.HandoverLine;
using Proto = Metering.Contracts.Accounts.V1;

namespace Metering.Accounts.Grpc;

// The conversion programme: survey import, consent, conversion of a riser, cost shares, handover manifests.
public sealed partial class AccountsGrpcService
{
    public override async Task<ImportSurveyResponse> ImportSurvey(ImportSurveyRequest request, ServerCallContext context) =>
        await ImportAsync(request.CommunityId, SurveyCsv.Parse(request.Csv), context.CancellationToken);

    public override async Task<ImportSurveyResponse> StreamSurvey(IAsyncStreamReader<SurveyChunk> requestStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        long? communityId = null;
        using var buffer = new MemoryStream();
        await foreach (var chunk in requestStream.ReadAllAsync(ct))
        {
            communityId ??= chunk.CommunityId;
            if (buffer.Length + chunk.Data.Length > AccountsModule.MaxSurveyBytes)
                throw new InvalidArgumentException(SurveyCsv.Field, $"is larger than {AccountsModule.MaxSurveyBytes} bytes; split the survey");
            chunk.Data.WriteTo(buffer);
        }
        var text = SurveyCsv.Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        return await ImportAsync(communityId ?? 0, SurveyCsv.Parse(text), ct);
    }

    private async Task<ImportSurveyResponse> ImportAsync(long communityId, IReadOnlyList<SurveyRow> rows, CancellationToken ct)
    {
        var community = await db.Communities.AsNoTracking().SingleOrDefaultAsync(c => c.Id == communityId, ct)
            ?? throw new NotFoundException("community", Key(communityId));

        using var turn = await bulkWrites.EnterAsync(db, ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var risers = await db.Risers.AsNoTracking().Where(r => r.CommunityId == communityId).ToListAsync(ct);
        var registered = await (
                from h in db.Households
                join r in db.Risers on h.RiserId equals r.Id
                where r.CommunityId == communityId
                select new { r.Building, r.Label, h.Id, h.Unit, h.HolderName, h.Phone, h.Persons })
            .AsNoTracking().ToListAsync(ct);
        var decisions = SurveyImport.Decide(
            community.Name,
            rows,
            risers.Where(r => r.ConvertedOn != null).Select(r => (r.Building, r.Label)).ToHashSet(),
            registered.ToDictionary(
                h => (h.Building, h.Label, h.Unit),
                h => new SurveyedHousehold(h.Id, new HouseholdDetails(h.Unit, h.HolderName, h.Phone, h.Persons))));

        // Bulk insert: entities are added as Added directly, no change detection over thousands of rows.
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        var riserIds = risers.ToDictionary(r => (r.Building, r.Label), r => r.Id);
        var newRisers = decisions.Where(d => d.Outcome == SurveyOutcome.Created).Select(d => d.RiserKey).Distinct()
            .Where(k => !riserIds.ContainsKey(k))
            .Select(k => new Data.Riser { CommunityId = communityId, Building = k.Building, Label = k.Riser })
            .ToList();
        db.Risers.AddRange(newRisers);
        await db.SaveChangesAsync(ct);
        foreach (var riser in newRisers)
            riserIds[(riser.Building, riser.Label)] = riser.Id;

        var created = new Dictionary<(string, string, string), Data.Household>();
        foreach (var decision in decisions.Where(d => d.Outcome == SurveyOutcome.Created))
        {
            var details = decision.Details!;
            created[(decision.Building, decision.Riser, details.Unit)] = new Data.Household
            {
                RiserId = riserIds[decision.RiserKey], Unit = details.Unit, HolderName = details.HolderName,
                Phone = details.Phone, Persons = details.Persons,
            };
        }
        await SqliteBulkInsert.HouseholdsAsync(db, created.Values.ToList(), ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();

        var response = new ImportSurveyResponse();
        foreach (var d in decisions)
        {
            var result = new SurveyRowResult
            {
                Line = d.Row.Line, Unit = d.Details?.Unit ?? d.Row.Unit.Trim(), Reason = d.Reason ?? "",
                RiserId = riserIds.GetValueOrDefault(d.RiserKey),
            };
            switch (d.Outcome)
            {
                case SurveyOutcome.Created:
                    result.Outcome = SurveyRowOutcome.Created;
                    result.HouseholdId = created[(d.Building, d.Riser, d.Details!.Unit)].Id;
                    response.Created++;
                    break;
                case SurveyOutcome.Unchanged:
                    result.Outcome = SurveyRowOutcome.Unchanged;
                    result.HouseholdId = d.HouseholdId ?? created[(d.Building, d.Riser, d.Details!.Unit)].Id;
                    response.Unchanged++;
                    break;
                default:
                    result.Outcome = SurveyRowOutcome.RowRefused;
                    response.Refused++;
                    break;
            }
            response.Rows.Add(result);
        }
        return response;
    }

    public override async Task<RiserDetail> GetRiser(GetRiserRequest request, ServerCallContext context)
    {
        var riser = await db.Risers.AsNoTracking().SingleOrDefaultAsync(r => r.Id == request.RiserId, context.CancellationToken)
            ?? throw new NotFoundException("riser", Key(request.RiserId));
        return (await RiserDetails([riser], context.CancellationToken))[0];
    }

    public override async Task<ListRisersResponse> ListRisers(ListRisersRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await db.Communities.AnyAsync(c => c.Id == request.CommunityId, ct))
            throw new NotFoundException("community", Key(request.CommunityId));
        var risers = await db.Risers.AsNoTracking().Where(r => r.CommunityId == request.CommunityId)
            .OrderBy(r => r.Building).ThenBy(r => r.Label).ToListAsync(ct);
        return new ListRisersResponse { Risers = { await RiserDetails(risers, ct) } };
    }

    private async Task<List<RiserDetail>> RiserDetails(IReadOnlyList<Data.Riser> risers, CancellationToken ct)
    {
        var ids = risers.Select(r => r.Id).ToList();
        var households = await (
                from h in db.Households
                where EF.Parameter(ids).Contains(h.RiserId)
                join a in db.Accounts on (long?)h.Id equals a.HouseholdId into accounts
                from a in accounts.DefaultIfEmpty()
                orderby h.Id
                select new { Household = h, UserNumber = a == null ? null : a.UserNumber })
            .AsNoTracking().ToListAsync(ct);
        return risers.Select(r =>
        {
            var own = households.Where(h => h.Household.RiserId == r.Id).ToList();
            var detail = new RiserDetail
            {
                RiserId = r.Id, CommunityId = r.CommunityId, Building = r.Building, Riser = r.Label,
                Status = r.ConvertedOn is null ? RiserStatus.Surveyed : RiserStatus.Converted,
                CompletedOn = DateText.Format(r.ConvertedOn),
                ActualCostFen = r.ActualCostFen ?? 0, HasActualCost = r.ActualCostFen is not null,
                Households = { own.Select(h => ToProto(h.Household, h.UserNumber)) },
            };
            if (r.ConvertedOn is null)
                detail.BlockingUnits.AddRange(RiserConsent.BlockingUnits(own.Select(h => new HouseholdConsent(h.Household.Unit, h.Household.Consent))));
            return detail;
        }).ToList();
    }

    public override async Task<Proto.Household> RecordConsent(RecordConsentRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var decision = request.Decision switch
        {
            ConsentDecision.Consented => ConsentState.Consented,
            ConsentDecision.Refused => ConsentState.Refused,
            _ => throw new InvalidArgumentException("decision", "must be CONSENTED or REFUSED"),
        };
        var signedBy = Fields.Required(request.SignedBy, "signed_by", HouseholdDetails.MaxNameLength);
        var signedOn = Fields.PastDate(request.SignedOn, "signed_on", calendar.Today(clock.GetUtcNow()));

        var household = await db.Households.SingleOrDefaultAsync(h => h.Id == request.HouseholdId, ct)
            ?? throw new NotFoundException("household", Key(request.HouseholdId));
        // The operator types from the riser's consent sheet: a household of another riser is a mistake on the sheet.
        if (household.RiserId != request.RiserId)
            throw new InvalidArgumentException("riser_id",
                $"household {household.Id} (unit {household.Unit}) is on riser {household.RiserId}, not on riser {request.RiserId}");
        var riser = await db.Risers.AsNoTracking().SingleAsync(r => r.Id == household.RiserId, ct);
        if (riser.ConvertedOn is not null)
            throw new FailedPreconditionException($"riser {riser.Id} is already converted; its consent sheet is closed");

        household.Consent = decision;
        household.ConsentSignedBy = signedBy;
        household.ConsentSignedOn = signedOn;
        await db.SaveChangesAsync(ct);
        return ToProto(household, userNumber: null);
    }

    public override async Task<ConvertRiserResponse> ConvertRiser(ConvertRiserRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        // Everything, checks included, runs in one transaction: on SQLite it holds the write lock from BEGIN,
        // so two conversions (also from two replicas) are serialised; a refusal rolls back and leaves nothing.
        using var turn = await bulkWrites.EnterAsync(db, ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var outcome = (await ConvertBatchAsync([request], clock.GetUtcNow(), ct))[0];
        if (outcome.Refusal is not null)
            throw outcome.Refusal;
        await transaction.CommitAsync(ct);
        return new ConvertRiserResponse
        {
            RiserId = request.RiserId, CompletedOn = DateText.Format(outcome.Accounts[0].OpenedOn),
            Accounts = { outcome.Accounts.Select(ToProto) },
        };
    }

    /// <summary>Risers per transaction of the bulk conversion: one commit (one disk flush) for many risers.</summary>
    private const int ConversionBatch = 200;

    public override async Task<ConvertRisersResponse> ConvertRisers(
        IAsyncStreamReader<ConvertRiserRequest> requestStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var response = new ConvertRisersResponse();
        var batch = new List<ConvertRiserRequest>(ConversionBatch);
        async Task FlushAsync()
        {
            if (batch.Count == 0)
                return;
            IReadOnlyList<ConversionOutcome> outcomes;
            using (await bulkWrites.EnterAsync(db, ct))
            {
                await using var transaction = await db.Database.BeginTransactionAsync(ct);
                outcomes = await ConvertBatchAsync(batch, clock.GetUtcNow(), ct);
                await transaction.CommitAsync(ct);
            }
            for (var i = 0; i < batch.Count; i++)
            {
                var result = new RiserConversionResult { RiserId = batch[i].RiserId };
                if (outcomes[i].Refusal is { } refusal)
                {
                    result.Reason = refusal.Message;
                    response.RisersRefused++;
                }
                else
                {
                    result.Converted = true;
                    result.UserNumbers.AddRange(outcomes[i].Accounts.Select(a => a.UserNumber));
                    response.RisersConverted++;
                    response.AccountsOpened += outcomes[i].Accounts.Count;
                }
                response.Results.Add(result);
            }
            batch.Clear();
        }

        await foreach (var request in requestStream.ReadAllAsync(ct))
        {
            batch.Add(request);
            if (batch.Count == ConversionBatch)
                await FlushAsync();
        }
        await FlushAsync();
        return response;
    }

    private sealed record ConversionOutcome(List<Account> Accounts, DomainException? Refusal);

    /// <summary>
    /// Converts risers inside the caller's transaction, set-based: a handful of queries for the whole batch,
    /// not per riser. Each riser is checked on its own and a refused one gets no write at all; the checks
    /// all come before the first write.
    /// </summary>
    private async Task<IReadOnlyList<ConversionOutcome>> ConvertBatchAsync(
        IReadOnlyList<ConvertRiserRequest> requests, DateTimeOffset now, CancellationToken ct)
    {
        // EF.Parameter sends each list as one (JSON) parameter: EF Core 10 would otherwise expand a batch's
        // thousands of meter serials into as many SQL parameters, which SQLite binds by name in quadratic time.
        var today = calendar.Today(now);
        var riserIds = requests.Select(r => r.RiserId).Distinct().ToList();
        var risers = await db.Risers.AsNoTracking().Where(r => EF.Parameter(riserIds).Contains(r.Id)).ToDictionaryAsync(r => r.Id, ct);
        var communityIds = risers.Values.Select(r => r.CommunityId).Distinct().ToList();
        var communities = await db.Communities.AsNoTracking().Where(c => EF.Parameter(communityIds).Contains(c.Id)).ToDictionaryAsync(c => c.Id, ct);
        var households = (await db.Households.AsNoTracking().Where(h => EF.Parameter(riserIds).Contains(h.RiserId)).ToListAsync(ct))
            .GroupBy(h => h.RiserId).ToDictionary(g => g.Key, g => g.OrderBy(h => h.Id).ToList());
        var requestedSerials = requests.SelectMany(r => r.Meters).Select(m => m.MeterSerial?.Trim() ?? "").Distinct().ToList();
        var installed = await db.Accounts.AsNoTracking().Where(a => EF.Parameter(requestedSerials).Contains(a.MeterSerial))
            .ToDictionaryAsync(a => a.MeterSerial, a => a.UserNumber, ct);

        var outcomes = new ConversionOutcome[requests.Count];
        var accepted = new List<(int Index, Data.Riser Riser, DateOnly CompletedOn, IReadOnlyDictionary<long, MeterInstallation> Plan)>();
        var convertedHere = new HashSet<long>();
        var serialsHere = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            try
            {
                var completedOn = Fields.PastDate(request.CompletedOn, "completed_on", today);
                var meters = request.Meters.Select(m => new MeterInstallation(m.Unit, m.MeterSerial, m.InitialRegisterLitres)).ToList();
                var riser = risers.GetValueOrDefault(request.RiserId) ?? throw new NotFoundException("riser", Key(request.RiserId));
                var label = $"{riser.Building} {riser.Label} ({riser.Id})";
                var own = households.GetValueOrDefault(riser.Id) ?? [];
                var plan = RiserConversion.Plan(label, riser.ConvertedOn is not null || convertedHere.Contains(riser.Id),
                    own.Select(h => new ConvertingHousehold(h.Id, h.Unit, h.Consent)).ToList(), meters);
                foreach (var serial in plan.Values.Select(m => m.MeterSerial))
                {
                    if (installed.TryGetValue(serial, out var holder))
                        throw new AlreadyExistsException($"meter {serial} is already installed for account {holder}");
                    if (serialsHere.TryGetValue(serial, out var otherRiser))
                        throw new AlreadyExistsException($"meter {serial} is already given for riser {otherRiser} in this conversion");
                }
                foreach (var serial in plan.Values.Select(m => m.MeterSerial))
                    serialsHere[serial] = riser.Id;
                convertedHere.Add(riser.Id);
                accepted.Add((i, riser, completedOn, plan));
            }
            catch (DomainException refused)
            {
                outcomes[i] = new ConversionOutcome([], refused);
            }
        }
        if (accepted.Count == 0)
            return outcomes;

        // Claims the risers: a riser converted meanwhile by another replica (SQL Server, where the checks above
        // do not hold the lock) makes the count fall short, and the whole transaction is refused and rolled back.
        foreach (var group in accepted.GroupBy(a => a.CompletedOn))
        {
            var ids = group.Select(a => a.Riser.Id).ToList();
            var completedOn = group.Key;
            var claimed = await db.Risers.Where(r => EF.Parameter(ids).Contains(r.Id) && r.ConvertedOn == null)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.ConvertedOn, completedOn), ct);
            if (claimed != ids.Count)
                throw new FailedPreconditionException("a riser of this request was converted meanwhile by another request; retry");
        }

        // One allocation per user-number prefix for the whole batch.
        var numbers = new Dictionary<string, Queue<UserNumber>>();
        foreach (var group in accepted.GroupBy(a => communities[a.Riser.CommunityId].UserNumberPrefix ?? plans.Default.Prefix))
        {
            var count = group.Sum(a => a.Plan.Count);
            numbers[group.Key] = new Queue<UserNumber>(await allocator.AllocateAsync(plans.ForPrefix(group.Key), count, ct));
        }

        db.ChangeTracker.AutoDetectChangesEnabled = false;
        var opened = new List<Account>();
        var events = new List<Metering.Hosting.Messaging.OutboxMessage>();
        foreach (var (index, riser, completedOn, plan) in accepted)
        {
            var community = communities[riser.CommunityId];
            var queue = numbers[community.UserNumberPrefix ?? plans.Default.Prefix];
            var accounts = new List<Account>(plan.Count);
            foreach (var h in households[riser.Id])
            {
                var meter = plan[h.Id];
                var account = new Account
                {
                    UserNumber = queue.Dequeue().Value,
                    HolderName = h.HolderName,
                    Address = Addresses.For(community.District, community.Subdistrict, community.Name, riser.Building, riser.Label, h.Unit),
                    Phone = h.Phone,
                    Persons = h.Persons,
                    MeterSerial = meter.MeterSerial,
                    InitialRegisterLitres = meter.InitialRegisterLitres,
                    OpenedOn = completedOn,
                    Status = AccountStatus.Open,
                    CreatedAt = now.UtcDateTime,
                    HouseholdId = h.Id,
                };
                accounts.Add(account);
                events.Add(db.Publish(new AccountOpened(account.UserNumber, account.HolderName, account.Address, account.Phone,
                    account.Persons, account.MeterSerial, account.InitialRegisterLitres, account.OpenedOn, now)));
            }
            opened.AddRange(accounts);
            outcomes[index] = new ConversionOutcome(accounts, null);
        }
        await SqliteBulkInsert.AccountsAsync(db, opened, ct);
        await db.WriteQueuedAsync(events, ct);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return outcomes;
    }

    public override async Task<RiserDetail> SetRiserCost(SetRiserCostRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        CostShare.For(request.ActualCostFen); // refuses a negative cost
        if (request.ActualCostFen > MaxRiserCostFen)
            throw new InvalidArgumentException("actual_cost_fen", $"must be at most {MaxRiserCostFen} fen, got {request.ActualCostFen}");
        var riser = await db.Risers.SingleOrDefaultAsync(r => r.Id == request.RiserId, ct)
            ?? throw new NotFoundException("riser", Key(request.RiserId));
        riser.ActualCostFen = request.ActualCostFen;
        await db.SaveChangesAsync(ct);
        return (await RiserDetails([riser], ct))[0];
    }

    /// <summary>10 million CNY: far above any riser, low enough that sums of a city never overflow.</summary>
    private const long MaxRiserCostFen = 1_000_000_000;

    public override async Task<Proto.Household> RecordResidentFee(RecordResidentFeeRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var paidOn = Fields.PastDate(request.PaidOn, "paid_on", calendar.Today(clock.GetUtcNow()));
        if (request.AmountFen is <= 0 or > CostShare.ResidentCapFen)
            throw new InvalidArgumentException("amount_fen", $"must be between 1 and {CostShare.ResidentCapFen} fen, got {request.AmountFen}");
        var household = await db.Households.SingleOrDefaultAsync(h => h.Id == request.HouseholdId, ct)
            ?? throw new NotFoundException("household", Key(request.HouseholdId));
        if (household.ResidentFeePaidFen + request.AmountFen > CostShare.ResidentCapFen)
            throw new FailedPreconditionException(
                $"household {household.Id} has paid {household.ResidentFeePaidFen} fen; {request.AmountFen} more would exceed the resident's share of {CostShare.ResidentCapFen} fen");
        household.ResidentFeePaidFen += request.AmountFen;
        household.ResidentFeePaidOn = paidOn;
        await db.SaveChangesAsync(ct);
        var userNumber = await db.Accounts.Where(a => a.HouseholdId == household.Id).Select(a => a.UserNumber).FirstOrDefaultAsync(ct);
        return ToProto(household, userNumber);
    }

    public override async Task<CostReport> GetCostReport(GetCostReportRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var given = (request.RiserId != 0 ? 1 : 0) + (request.CommunityId != 0 ? 1 : 0) + (string.IsNullOrWhiteSpace(request.District) ? 0 : 1);
        if (given != 1)
            throw new InvalidArgumentException("riser_id", "give exactly one of riser_id, community_id and district");

        var risers =
            from r in db.Risers
            join c in db.Communities on r.CommunityId equals c.Id
            where r.ConvertedOn != null
            select new { Riser = r, Community = c };
        string scope;
        if (request.RiserId != 0)
        {
            if (!await db.Risers.AnyAsync(r => r.Id == request.RiserId, ct))
                throw new NotFoundException("riser", Key(request.RiserId));
            risers = risers.Where(x => x.Riser.Id == request.RiserId);
            scope = $"riser {request.RiserId}";
        }
        else if (request.CommunityId != 0)
        {
            if (!await db.Communities.AnyAsync(c => c.Id == request.CommunityId, ct))
                throw new NotFoundException("community", Key(request.CommunityId));
            risers = risers.Where(x => x.Community.Id == request.CommunityId);
            scope = $"community {request.CommunityId}";
        }
        else
        {
            var district = request.District.Trim();
            risers = risers.Where(x => x.Community.District == district);
            scope = $"district {district}";
        }

        var fees = await (
                from x in risers
                join h in db.Households on x.Riser.Id equals h.RiserId
                orderby h.Id
                select new { RiserId = x.Riser.Id, h.ResidentFeePaidFen })
            .AsNoTracking().ToListAsync(ct);
        var feesByRiser = fees.GroupBy(f => f.RiserId).ToDictionary(g => g.Key, g => g.Select(f => f.ResidentFeePaidFen).ToList());
        var rows = await risers.AsNoTracking()
            .Select(x => new { x.Riser.Id, x.Riser.Building, x.Riser.Label, x.Riser.ActualCostFen, CommunityId = x.Community.Id, x.Community.Name })
            .ToListAsync(ct);

        var perRiser = rows.Select(r => (r.Id, r.CommunityId, r.Name, Label: $"{r.Building} {r.Label}",
                Totals: ProgrammeCosts.ForRiser(r.ActualCostFen, feesByRiser.GetValueOrDefault(r.Id) ?? [])))
            .OrderBy(r => r.CommunityId).ThenBy(r => r.Label, StringComparer.Ordinal).ToList();
        var report = new CostReport
        {
            Scope = scope,
            Totals = ToProto(perRiser.Aggregate(ProgrammeCosts.Zero, (sum, r) => sum + r.Totals)),
        };
        if (request.District is { Length: > 0 } && request.RiserId == 0 && request.CommunityId == 0)
            report.Rows.AddRange(perRiser.GroupBy(r => (r.CommunityId, r.Name)).Select(g => new CostReportRow
            {
                CommunityId = g.Key.CommunityId, Label = g.Key.Name,
                Totals = ToProto(g.Aggregate(ProgrammeCosts.Zero, (sum, r) => sum + r.Totals)),
            }));
        else
            report.Rows.AddRange(perRiser.Select(r => new CostReportRow
            {
                RiserId = r.Id, CommunityId = r.CommunityId, Label = r.Label, Totals = ToProto(r.Totals),
            }));
        return report;
    }

    public override async Task<HandoverManifest> IssueHandover(IssueHandoverRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var now = clock.GetUtcNow();
        var (scope, scopeId) = HandoverScope(request.RiserId, request.CommunityId);
        var recipient = Fields.Required(request.Recipient, "recipient", 100);
        var handedOverOn = Fields.PastDate(request.HandedOverOn, "handed_over_on", calendar.Today(now));

        var accounts =
            from a in db.Accounts
            join h in db.Households on a.HouseholdId equals h.Id
            join r in db.Risers on h.RiserId equals r.Id
            where a.Status == AccountStatus.Open
            select new { a.UserNumber, a.HolderName, a.Address, a.Phone, r.Id, r.CommunityId, r.Building, r.Label, h.Unit };
        if (scope == RiserScope)
        {
            var riser = await db.Risers.AsNoTracking().SingleOrDefaultAsync(r => r.Id == scopeId, ct)
                ?? throw new NotFoundException("riser", Key(scopeId));
            if (riser.ConvertedOn is null)
                throw new FailedPreconditionException($"riser {scopeId} is not converted yet: it has no user numbers to hand over");
            accounts = accounts.Where(x => x.Id == scopeId);
        }
        else
        {
            if (!await db.Communities.AnyAsync(c => c.Id == scopeId, ct))
                throw new NotFoundException("community", Key(scopeId));
            accounts = accounts.Where(x => x.CommunityId == scopeId);
        }
        var lines = (await accounts.AsNoTracking().ToListAsync(ct))
            .OrderBy(x => x.Building, StringComparer.Ordinal).ThenBy(x => x.Label, StringComparer.Ordinal)
            .ThenBy(x => x.Unit, StringComparer.Ordinal)
            .Select(x => new HandoverEntry(x.UserNumber, x.HolderName, x.Address, x.Phone))
            .ToList();
        if (lines.Count == 0)
            throw new FailedPreconditionException($"{scope} {scopeId} has no open accounts yet: convert a riser first");

        var manifest = new Data.HandoverManifest
        {
            Id = Guid.NewGuid(), Scope = scope, ScopeId = scopeId, Recipient = recipient, HandedOverOn = handedOverOn,
            AccountCount = lines.Count, IssuedAt = now.UtcDateTime,
        };
        db.HandoverManifests.Add(manifest);
        db.HandoverLines.AddRange(lines.Select((l, i) => new Data.HandoverLine
        {
            ManifestId = manifest.Id, Position = i + 1, UserNumber = l.UserNumber, HolderName = l.HolderName,
            Address = l.Address, Phone = l.Phone,
        }));
        db.Publish(new HandoverIssued(manifest.Id, scope, scopeId, recipient, handedOverOn, lines.Select(l => l.UserNumber).ToList(), now));
        await db.SaveChangesAsync(ct);
        return ToProto(manifest, lines);
    }

    public override async Task<ListHandoversResponse> ListHandovers(ListHandoversRequest request, ServerCallContext context)
    {
        var (scope, scopeId) = HandoverScope(request.RiserId, request.CommunityId);
        var manifests = await db.HandoverManifests.AsNoTracking().Where(m => m.Scope == scope && m.ScopeId == scopeId)
            .ToListAsync(context.CancellationToken);
        return new ListHandoversResponse
        {
            Manifests = { manifests.OrderByDescending(m => m.IssuedAt).Select(m => ToProto(m, lines: null)) },
        };
    }

    public override async Task<HandoverManifest> GetHandover(GetHandoverRequest request, ServerCallContext context)
    {
        if (!Guid.TryParse(request.ManifestId, out var id))
            throw new InvalidArgumentException("manifest_id", $"'{request.ManifestId}' is not a manifest id");
        var (manifest, lines) = await LoadHandoverAsync(db, id, context.CancellationToken);
        return ToProto(manifest, lines);
    }

    internal static async Task<(Data.HandoverManifest Manifest, List<HandoverEntry> Lines)> LoadHandoverAsync(
        AccountsDbContext db, Guid id, CancellationToken ct)
    {
        var manifest = await db.HandoverManifests.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, ct)
            ?? throw new NotFoundException("handover manifest", id.ToString());
        var lines = await db.HandoverLines.AsNoTracking().Where(l => l.ManifestId == id).OrderBy(l => l.Position)
            .Select(l => new HandoverEntry(l.UserNumber, l.HolderName, l.Address, l.Phone)).ToListAsync(ct);
        return (manifest, lines);
    }

    private const string RiserScope = "riser";
    private const string CommunityScope = "community";

    private static (string Scope, long Id) HandoverScope(long riserId, long communityId) => (riserId, communityId) switch
    {
        ( > 0, 0) => (RiserScope, riserId),
        (0, > 0) => (CommunityScope, communityId),
        _ => throw new InvalidArgumentException("riser_id", "give exactly one of riser_id and community_id"),
    };

    private static HandoverManifest ToProto(Data.HandoverManifest m, IReadOnlyList<HandoverEntry>? lines)
    {
        var proto = new HandoverManifest
        {
            ManifestId = m.Id.ToString(), Scope = m.Scope, ScopeId = m.ScopeId, Recipient = m.Recipient,
            HandedOverOn = DateText.Format(m.HandedOverOn), AccountCount = m.AccountCount,
        };
        if (lines is not null)
        {
            proto.Lines.AddRange(lines.Select(l => new HandoverLine
            {
                UserNumber = l.UserNumber, HolderName = l.HolderName, Address = l.Address, Phone = l.Phone,
            }));
            proto.Csv = ByteString.CopyFrom(HandoverCsv.Write(lines));
        }
        return proto;
    }

    private static CostTotals ToProto(ProgrammeCosts c) => new()
    {
        HouseholdsConverted = c.HouseholdsConverted, HouseholdsCostPending = c.HouseholdsCostPending,
        ActualCostFen = c.ActualCostFen, ResidentFen = c.Shares.ResidentFen, FinanceFen = c.Shares.FinanceFen,
        UtilityFen = c.Shares.UtilityFen, ResidentCollectedFen = c.ResidentCollectedFen,
        ResidentOutstandingFen = c.ResidentOutstandingFen,
    };

    private static Proto.Household ToProto(Data.Household h, string? userNumber) => new()
    {
        HouseholdId = h.Id, RiserId = h.RiserId, Unit = h.Unit, HolderName = h.HolderName, Phone = h.Phone,
        Persons = h.Persons,
        Consent = h.Consent switch
        {
            ConsentState.Consented => ConsentDecision.Consented,
            ConsentState.Refused => ConsentDecision.Refused,
            _ => ConsentDecision.Unspecified,
        },
        ConsentSignedBy = h.ConsentSignedBy ?? "", ConsentSignedOn = DateText.Format(h.ConsentSignedOn),
        UserNumber = userNumber ?? "", ResidentFeePaidFen = h.ResidentFeePaidFen,
    };

    private static string Key(long id) => id.ToString(CultureInfo.InvariantCulture);
}
