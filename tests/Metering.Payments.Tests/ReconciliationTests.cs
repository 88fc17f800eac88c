using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Metering.Contracts.Payments.V1;
using Metering.Hosting.Grpc;

namespace Metering.Payments.Tests;

public sealed class ReconciliationTests : IDisposable
{
    private static readonly string Alice = LedgerHost.UserNumberFor(1);
    private static readonly string Bob = LedgerHost.UserNumberFor(2);

    private readonly LedgerHost _ledger = new();

    public void Dispose() => _ledger.Dispose();

    private Metering.Contracts.Payments.V1.Payments.PaymentsClient Client => _ledger.Client;

    private Task PayAsync(string userNumber, string transaction, long amountFen, string paidAt) =>
        Client.PostPaymentAsync(new PostPaymentRequest
        {
            UserNumber = userNumber,
            Channel = "wechat",
            ChannelTransactionId = transaction,
            AmountFen = amountFen,
            PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.Parse(paidAt)),
        }).ResponseAsync;

    private static ReconcileStatementRequest Statement(string csv, bool postMissing = false) => new()
    {
        Channel = "wechat",
        StatementDate = "2026-10-08",
        Csv = csv,
        PostMissing = postMissing,
    };

    /// <summary>WeChat's statement of 8 October against what the ledger took that day (times are Beijing time).</summary>
    private async Task<string> ADayOfWeChatAsync()
    {
        await _ledger.OpenAccountAsync(Alice);
        await _ledger.OpenAccountAsync(Bob, "李四");
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(Alice));
        await PayAsync(Alice, "wx-1", 10_000, "2026-10-08T09:00:00+08:00");
        await PayAsync(Alice, "wx-2", 20_000, "2026-10-08T10:00:00+08:00");
        await PayAsync(Bob, "wx-3", 5_000, "2026-10-08T11:00:00+08:00");
        await PayAsync(Alice, "wx-4", 7_000, "2026-10-08T12:00:00+08:00");
        // Ours, not on the statement: the channel's side misses it.
        await PayAsync(Alice, "wx-5", 3_000, "2026-10-08T23:59:00+08:00");
        // Another day (00:30 on the 9th in Beijing, still the 8th in UTC): not expected on this statement.
        await PayAsync(Alice, "wx-6", 1_000, "2026-10-09T00:30:00+08:00");
        await Client.ReversePaymentAsync(new ReversePaymentRequest { Channel = "wechat", ChannelTransactionId = "wx-4" });
        return $"""
            transaction_id,user_number,amount_fen,paid_at
            wx-1,{Alice},10000,2026-10-08 09:00:00
            wx-2,{Alice},25000,2026-10-08T10:00:00+08:00
            wx-3,{Alice},5000,2026-10-08T03:00:00Z
            wx-4,{Alice},7000,2026-10-08 12:00:00
            wx-7,{Bob},8800,2026-10-08 20:15:00
            """;
    }

    [Fact]
    public async Task A_statement_is_sorted_into_matched_missing_on_either_side_and_mismatches()
    {
        var csv = await ADayOfWeChatAsync();
        var before = await _ledger.CountAsync();

        var report = await Client.ReconcileStatementAsync(Statement(csv));

        Assert.Equal((1, 10_000L), (report.Matched, report.MatchedAmountFen));
        var missingOurs = Assert.Single(report.MissingOnOurSide);
        Assert.Equal(("wx-7", Bob, 8_800L, 6, ""), (missingOurs.Line.TransactionId, missingOurs.Line.UserNumber,
            missingOurs.Line.AmountFen, missingOurs.Line.Line, missingOurs.PostedPaymentId));
        Assert.Equal(new DateTimeOffset(2026, 10, 8, 12, 15, 0, TimeSpan.Zero), missingOurs.Line.PaidAt.ToDateTimeOffset());
        Assert.Equal(["wx-5"], report.MissingOnChannelSide.Select(m => m.ChannelTransactionId));
        Assert.Equal([("wx-2", "amount", 20_000L), ("wx-3", "user_number", 5_000L), ("wx-4", "reversed", 7_000L)],
            report.Mismatches.Select(m => (m.Line.TransactionId, m.Kind, m.OurAmountFen)));
        Assert.Equal(Bob, report.Mismatches[1].OurUserNumber);
        // Comparing writes nothing.
        Assert.Equal(before, await _ledger.CountAsync());
    }

    [Fact]
    public async Task Missing_lines_can_be_posted_and_importing_the_statement_again_changes_nothing()
    {
        var csv = await ADayOfWeChatAsync();
        var before = await _ledger.CountAsync();

        var first = await Client.ReconcileStatementAsync(Statement(csv, postMissing: true));

        var posted = Assert.Single(first.MissingOnOurSide);
        Assert.True(Guid.TryParse(posted.PostedPaymentId, out _));
        var afterFirst = await _ledger.CountAsync();
        Assert.Equal(before.Payments + 1, afterFirst.Payments);
        var bob = await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Bob });
        Assert.Equal(5_000 + 8_800, bob.CreditFen);

        var second = await Client.ReconcileStatementAsync(Statement(csv, postMissing: true));

        Assert.Empty(second.MissingOnOurSide);
        Assert.Equal((2, 18_800L), (second.Matched, second.MatchedAmountFen));
        Assert.Equal(afterFirst, await _ledger.CountAsync());
    }

    [Fact]
    public async Task A_line_that_cannot_be_posted_is_reported_with_the_reason()
    {
        await _ledger.OpenAccountAsync(Alice);
        var report = await Client.ReconcileStatementAsync(Statement(
            "transaction_id,user_number,amount_fen,paid_at\nwx-9,9999999999,100,2026-10-08 08:00:00\n", postMissing: true));

        var line = Assert.Single(report.MissingOnOurSide);
        Assert.Equal("", line.PostedPaymentId);
        Assert.Contains("9999999999", line.NotPostedReason);
    }

    private const string Header = "transaction_id,user_number,amount_fen,paid_at\n";

    // Line 2 is good: refusing the file means it is not posted either.
    private static readonly string Good = $"wx-0,{Alice},100,2026-10-08 08:00\n";

    public static TheoryData<string, string> BadStatements => new()
    {
        { "transaction_id,user_number,amount_fen\nwx-1,1000000016,100\n", "csv" },
        { "", "csv" },
        { Header + Good + "wx-1,1000000017,100,2026-10-08 08:00\n", "csv.line[3].user_number" },
        { Header + Good + "wx-1,1000000016,1.50,2026-10-08 08:00\n", "csv.line[3].amount_fen" },
        { Header + Good + "wx-2,1000000016,-5,2026-10-08 08:00\n", "csv.line[3].amount_fen" },
        { Header + Good + "wx-1,1000000016,100,yesterday\n", "csv.line[3].paid_at" },
        { Header + Good + ",1000000016,100,2026-10-08 08:00\n", "csv.line[3].transaction_id" },
        { Header + Good + "wx-1,1000000016,100\n", "csv.line[3].paid_at" },
        { Header + Good + Good, "csv.line[3].transaction_id" },
    };

    [Theory]
    [MemberData(nameof(BadStatements))]
    public async Task A_statement_with_a_bad_row_is_refused_whole_naming_the_line_and_column(string csv, string field)
    {
        await _ledger.OpenAccountAsync(Alice);
        var before = await _ledger.CountAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.ReconcileStatementAsync(Statement(csv, postMissing: true)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, ErrorDetails.ViolatedField(error));
        Assert.Equal(before, await _ledger.CountAsync());
    }

    [Theory]
    [InlineData("paypal", "2026-10-08", "channel")]
    [InlineData("wechat", "8/10/2026", "statement_date")]
    public async Task A_bad_channel_or_date_is_refused(string channel, string date, string field)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Client.ReconcileStatementAsync(new ReconcileStatementRequest
        {
            Channel = channel, StatementDate = date, Csv = "transaction_id,user_number,amount_fen,paid_at\n",
        }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, field), (error.StatusCode, ErrorDetails.ViolatedField(error)));
    }
}
