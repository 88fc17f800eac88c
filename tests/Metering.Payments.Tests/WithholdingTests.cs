using Grpc.Core;
using Metering.Contracts.Payments.V1;
using Metering.Hosting.Grpc;

namespace Metering.Payments.Tests;

public sealed class WithholdingTests : IDisposable
{
    private static readonly string Alice = LedgerHost.UserNumberFor(1);
    private static readonly string Bob = LedgerHost.UserNumberFor(2);
    private static readonly string Carol = LedgerHost.UserNumberFor(3);
    private static readonly string Dave = LedgerHost.UserNumberFor(4);

    private readonly LedgerHost _ledger = new();

    public void Dispose() => _ledger.Dispose();

    private Metering.Contracts.Payments.V1.Payments.PaymentsClient Client => _ledger.Client;

    private static PutWithholdingMandateRequest Mandate(string userNumber, string bank = "ICBC") => new()
    {
        UserNumber = userNumber,
        BankCode = bank,
        AccountHolder = "张三明",
        BankAccount = "6222 0212 3456 7890 123",
        MandateReference = $"M-{userNumber}",
    };

    private async Task<WithholdingBatch> BatchOfAliceAndDaveAsync()
    {
        foreach (var (number, holder) in new[] { (Alice, "张三明"), (Bob, "李四"), (Carol, "王五"), (Dave, "赵六") })
            await _ledger.OpenAccountAsync(number, holder);
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(Alice));
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(Carol)[0], LedgerHost.ThreeQuarters(Dave)[0]);
        await Client.PutWithholdingMandateAsync(Mandate(Alice));
        // Bob owes nothing and Carol revoked her mandate: only Alice and Dave (another bank) are withheld.
        await Client.PutWithholdingMandateAsync(Mandate(Bob));
        await Client.PutWithholdingMandateAsync(Mandate(Carol));
        await Client.RevokeWithholdingMandateAsync(new RevokeWithholdingMandateRequest { UserNumber = Carol });
        await Client.PutWithholdingMandateAsync(Mandate(Dave, "ccb"));
        return await Client.ExportWithholdingBatchAsync(new ExportWithholdingBatchRequest());
    }

    [Fact]
    public async Task A_batch_lists_what_mandated_accounts_owe_and_the_banks_result_pays_it_once()
    {
        var batch = await BatchOfAliceAndDaveAsync();

        Assert.Equal((2, 102_648L + 33_200L), (batch.Lines, batch.TotalFen));
        Assert.Equal(
            $"""
            line,user_number,bank_code,mandate_reference,account_holder,bank_account_masked,amount_fen
            1,{Alice},ICBC,M-{Alice},张三明,6222***********0123,102648
            2,{Dave},CCB,M-{Dave},张三明,6222***********0123,33200

            """.ReplaceLineEndings("\n"),
            batch.Csv.ReplaceLineEndings("\n"));

        var result = $"""
            line,user_number,amount_fen,result,paid_at,reason
            1,{Alice},102648,paid,2026-11-05 02:10:00,
            2,{Dave},33200,failed,,insufficient funds
            """;
        var imported = await Client.ImportWithholdingResultAsync(new ImportWithholdingResultRequest { BatchId = batch.BatchId, Csv = result });

        Assert.Equal((1, 102_648L, 1, 0), (imported.Paid, imported.PaidFen, imported.Failed, imported.Refused));
        Assert.Equal(("failed", "insufficient funds"), (imported.Lines[1].Outcome, imported.Lines[1].Reason));
        Assert.Equal(0, (await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice })).OutstandingFen);
        var ledger = await Client.GetAccountLedgerAsync(new GetAccountLedgerRequest { UserNumber = Alice });
        Assert.Equal(("bank_withholding", imported.Lines[0].PaymentId), (ledger.Payments[0].Channel, ledger.Payments[0].PaymentId));

        // The bank sends the same file again: nothing is paid twice.
        var before = await _ledger.CountAsync();
        var again = await Client.ImportWithholdingResultAsync(new ImportWithholdingResultRequest { BatchId = batch.BatchId, Csv = result });
        Assert.Equal(imported.Lines[0].PaymentId, again.Lines[0].PaymentId);
        Assert.Equal(before, await _ledger.CountAsync());

        // Dave failed and Alice paid: the next batch asks Dave again.
        var next = await Client.ExportWithholdingBatchAsync(new ExportWithholdingBatchRequest());
        Assert.Equal((1, 33_200L), (next.Lines, next.TotalFen));
        Assert.Contains(Dave, next.Csv);
    }

    [Fact]
    public async Task An_account_awaiting_the_banks_answer_is_not_withheld_twice()
    {
        await BatchOfAliceAndDaveAsync();

        var second = await Client.ExportWithholdingBatchAsync(new ExportWithholdingBatchRequest());

        Assert.Equal(0, second.Lines);
    }

    [Fact]
    public async Task A_batch_can_be_cut_for_one_bank()
    {
        foreach (var number in new[] { Alice, Dave })
            await _ledger.OpenAccountAsync(number);
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(Alice)[0], LedgerHost.ThreeQuarters(Dave)[0]);
        await Client.PutWithholdingMandateAsync(Mandate(Alice));
        await Client.PutWithholdingMandateAsync(Mandate(Dave, "CCB"));

        var ccb = await Client.ExportWithholdingBatchAsync(new ExportWithholdingBatchRequest { BankCode = "ccb" });

        Assert.Equal(1, ccb.Lines);
        Assert.Contains(Dave, ccb.Csv);
    }

    [Fact]
    public async Task Result_lines_that_disagree_with_the_batch_are_refused_one_by_one()
    {
        var batch = await BatchOfAliceAndDaveAsync();

        var imported = await Client.ImportWithholdingResultAsync(new ImportWithholdingResultRequest
        {
            BatchId = batch.BatchId,
            Csv = $"""
                line,user_number,amount_fen,result,paid_at,reason
                1,{Alice},100,paid,2026-11-05 02:10:00,
                2,{Alice},33200,paid,2026-11-05 02:10:00,
                3,{Dave},33200,paid,2026-11-05 02:10:00,
                """,
        });

        Assert.Equal((0, 3), (imported.Paid, imported.Refused));
        Assert.Equal(102_648, (await Client.GetBalanceAsync(new GetBalanceRequest { UserNumber = Alice })).OutstandingFen);
    }

    public static TheoryData<Action<PutWithholdingMandateRequest>, string> BadMandates => new()
    {
        { m => m.BankAccount = "6222-0212", "bank_account" },
        { m => m.BankAccount = "", "bank_account" },
        { m => m.BankCode = "", "bank_code" },
        { m => m.BankCode = "I C B C", "bank_code" },
        { m => m.AccountHolder = " ", "account_holder" },
        { m => m.MandateReference = "", "mandate_reference" },
        { m => m.UserNumber = "1000000017", "user_number" },
    };

    [Theory]
    [MemberData(nameof(BadMandates))]
    public async Task Bad_mandates_are_refused_naming_the_field(Action<PutWithholdingMandateRequest> spoil, string field)
    {
        await _ledger.OpenAccountAsync(Alice);
        var request = Mandate(Alice);
        spoil(request);

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.PutWithholdingMandateAsync(request).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, field), (error.StatusCode, ErrorDetails.ViolatedField(error)));
        Assert.Null((await Client.GetAccountLedgerAsync(new GetAccountLedgerRequest { UserNumber = Alice })).Mandate);
    }

    [Fact]
    public async Task A_mandate_keeps_only_the_masked_account_and_an_unknown_account_has_none()
    {
        await _ledger.OpenAccountAsync(Alice);

        var mandate = await Client.PutWithholdingMandateAsync(Mandate(Alice));
        var unknown = await Assert.ThrowsAsync<RpcException>(() => Client.PutWithholdingMandateAsync(Mandate("9999999999")).ResponseAsync);

        Assert.Equal(("6222***********0123", true), (mandate.BankAccountMasked, mandate.Active));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        var stored = await _ledger.QueryAsync(db => Task.FromResult(db.WithholdingMandates.Single()));
        Assert.DoesNotContain("02123456789", stored.BankAccountMasked);
    }

    [Fact]
    public async Task A_bad_result_file_or_batch_is_refused_and_writes_nothing()
    {
        var batch = await BatchOfAliceAndDaveAsync();
        var before = await _ledger.CountAsync();

        var badRow = await Assert.ThrowsAsync<RpcException>(() => Client.ImportWithholdingResultAsync(new ImportWithholdingResultRequest
        {
            BatchId = batch.BatchId,
            Csv = $"line,user_number,amount_fen,result,paid_at,reason\n1,{Alice},102648,paid,2026-11-05 02:10:00,\n2,{Dave},33200,maybe,,\n",
        }).ResponseAsync);
        var unknownBatch = await Assert.ThrowsAsync<RpcException>(() => Client.ImportWithholdingResultAsync(
            new ImportWithholdingResultRequest { BatchId = Guid.NewGuid().ToString(), Csv = "line\n" }).ResponseAsync);
        var badBatch = await Assert.ThrowsAsync<RpcException>(() => Client.ImportWithholdingResultAsync(
            new ImportWithholdingResultRequest { BatchId = "42", Csv = "line\n" }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, "csv.line[3].result"), (badRow.StatusCode, ErrorDetails.ViolatedField(badRow)));
        Assert.Equal(StatusCode.NotFound, unknownBatch.StatusCode);
        Assert.Equal((StatusCode.InvalidArgument, "batch_id"), (badBatch.StatusCode, ErrorDetails.ViolatedField(badBatch)));
        Assert.Equal(before, await _ledger.CountAsync());
    }
}
