using Metering.Accounts.Data;
using Metering.Accounts.Domain;
using Metering.Domain;

namespace Metering.Accounts.Grpc;

/// <summary><c>GET /v1/handovers/{manifestId}/manifest.csv</c>: the manifest as a file, exactly as it was handed over.</summary>
public static class HandoverDownload
{
    public static async Task<IResult> GetAsync(Guid manifestId, AccountsDbContext db, CancellationToken cancellationToken)
    {
        try
        {
            var (manifest, lines) = await AccountsGrpcService.LoadHandoverAsync(db, manifestId, cancellationToken);
            return Results.File(HandoverCsv.Write(lines), "text/csv; charset=utf-8",
                $"handover-{manifest.Scope}-{manifest.ScopeId}-{DateText.Format(manifest.HandedOverOn)}.csv");
        }
        catch (NotFoundException notFound)
        {
            return Results.NotFound(new { code = 5, message = notFound.Message });
        }
    }
}
