using System.Runtime.CompilerServices;
using Metering.Contracts.Accounts.V1;
using Metering.Testing;

namespace Metering.Accounts.Tests;

/// <summary>The path docs/accounts.md walks an operator through, with its sample files: survey CSV in, handover CSV out.</summary>
public sealed class DocumentedPathTests : IDisposable
{
    private readonly ServiceFactory<AccountsModule> _host = new();

    public void Dispose() => _host.Dispose();

    private static string Sample(string name, [CallerFilePath] string here = "") =>
        Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "docs", "samples", name);

    [Fact]
    public async Task The_sample_survey_becomes_the_sample_handover_manifest()
    {
        var steps = new ProgrammeSteps(_host);
        var community = await steps.Community();

        var import = await steps.Import(community.CommunityId, await File.ReadAllTextAsync(Sample("accounts-survey.csv")));
        var riser = await steps.Client.GetRiserAsync(new GetRiserRequest { RiserId = import.Rows[0].RiserId });
        await steps.ConvertedRiser(riser);
        var manifest = await steps.Client.IssueHandoverAsync(new IssueHandoverRequest
        {
            RiserId = riser.RiserId, Recipient = "业主代表 刘大成", HandedOverOn = "2026-04-20",
        });

        Assert.Equal((5, 1), (import.Created, import.Refused));
        Assert.Equal(7, import.Rows.Single(r => r.Outcome == SurveyRowOutcome.RowRefused).Line);
        Assert.Equal(await File.ReadAllBytesAsync(Sample("accounts-handover.csv")), manifest.Csv.ToByteArray());
    }
}
