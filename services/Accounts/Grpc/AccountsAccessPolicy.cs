using Metering.Accounts.Data;
using Metering.Hosting.Security;

namespace Metering.Accounts.Grpc;

/// <summary>Who may call each Accounts RPC (issue 8). Channels have no business here: accounts hold names and phones.</summary>
public sealed class AccountsAccessPolicy : AccessPolicy
{
    public AccountsAccessPolicy() : base(Contracts.Accounts.V1.Accounts.Descriptor, typeof(AccountsDbContext))
    {
        Allow("OpenAccount", Access.Change, Operators);
        Allow("GetAccount", Access.Read, Readers);
        Allow("SearchAccounts", Access.Read, Readers);
        Allow("GetAccountHistory", Access.Read, Readers);
        Allow("ChangeAccountDetails", Access.Change, Operators);
        Allow("CloseAccount", Access.Change, Operators);

        Allow("CreateCommunity", Access.Change, Operators);
        Allow("CreateRiser", Access.Change, Operators);
        Allow("AddHousehold", Access.Change, Operators);
        Allow("ImportSurvey", Access.Change, Operators);
        Allow("StreamSurvey", Access.Change, Operators);
        Allow("GetRiser", Access.Read, Readers);
        Allow("ListRisers", Access.Read, Readers);
        Allow("RecordConsent", Access.Change, Operators);
        Allow("ConvertRiser", Access.Change, Operators);
        Allow("ConvertRisers", Access.Change, Operators);
        Allow("SetRiserCost", Access.Change, Operators);
        Allow("RecordResidentFee", Access.Change, Operators);
        Allow("GetCostReport", Access.Read, Readers);

        Allow("IssueHandover", Access.Change, Operators);
        Allow("ListHandovers", Access.Read, Readers);
        Allow("GetHandover", Access.Read, Readers);
        AllowRoute("GET", "/v1/handovers/{manifestId:guid}/manifest.csv", Readers);
    }
}
