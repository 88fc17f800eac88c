using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Metering.Payments.Tests;

public sealed class JsonRoutesTests : IDisposable
{
    private static readonly string Alice = LedgerHost.UserNumberFor(1);

    private readonly LedgerHost _ledger = new();

    public void Dispose() => _ledger.Dispose();

    private static object Payment(string userNumber, long amountFen, string transaction = "WEB-1") => new
    {
        userNumber,
        channel = "website",
        channelTransactionId = transaction,
        amountFen,
        paidAt = "2026-10-08T09:30:00+08:00",
    };

    [Fact]
    public async Task Balance_and_payment_answer_in_the_documented_shapes()
    {
        await _ledger.OpenAccountAsync(Alice);
        var bills = LedgerHost.ThreeQuarters(Alice);
        await _ledger.IssueAsync(bills);
        var http = _ledger.Factory.CreateClient();

        var balance = await http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{Alice}/balance");
        Assert.Equal(Alice, balance.GetProperty("userNumber").GetString());
        Assert.Equal(102_648, balance.GetProperty("outstandingFen").GetInt64());
        Assert.Equal(0, balance.GetProperty("creditFen").GetInt64());
        var unpaid = balance.GetProperty("unpaidBills").EnumerateArray().ToList();
        Assert.Equal(3, unpaid.Count);
        Assert.Equal(bills[0].BillId.ToString(), unpaid[0].GetProperty("billId").GetString());
        Assert.Equal("2026-03-31", unpaid[0].GetProperty("periodEnd").GetString());
        Assert.Equal(100_000, unpaid[0].GetProperty("volumeLitres").GetInt64());
        Assert.Equal(33_200, unpaid[0].GetProperty("outstandingFen").GetInt64());
        Assert.Equal("2026-04-30", unpaid[0].GetProperty("dueDate").GetString());

        var posted = await http.PostAsJsonAsync("/v1/payments", Payment(Alice, 50_000));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var answer = await posted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(Guid.TryParse(answer.GetProperty("paymentId").GetString(), out _));
        Assert.Equal(52_648, answer.GetProperty("outstandingFen").GetInt64());
        Assert.Equal(
            [(bills[0].BillId.ToString(), 33_200L), (bills[1].BillId.ToString(), 16_800L)],
            answer.GetProperty("allocations").EnumerateArray()
                .Select(a => (a.GetProperty("billId").GetString(), a.GetProperty("amountFen").GetInt64())));

        var repeated = await http.PostAsJsonAsync("/v1/payments", Payment(Alice, 50_000));
        var replay = await repeated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.True(replay.GetProperty("replayed").GetBoolean());
        Assert.Equal(answer.GetProperty("paymentId").GetString(), replay.GetProperty("paymentId").GetString());
    }

    [Fact]
    public async Task Refusals_have_HTTP_codes_and_write_nothing()
    {
        await _ledger.OpenAccountAsync(Alice);
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(Alice));
        var http = _ledger.Factory.CreateClient();
        await http.PostAsJsonAsync("/v1/payments", Payment(Alice, 50_000));
        var before = await _ledger.CountAsync();

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/v1/accounts/1000000017/balance")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/v1/accounts/9999999999/balance")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/v1/payments", Payment(Alice, 0, "WEB-2"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/v1/payments", Payment("12345", 100, "WEB-2"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/v1/payments", Payment("9999999999", 100, "WEB-2"))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsJsonAsync("/v1/payments", Payment(Alice, 40_000))).StatusCode);

        Assert.Equal(before, await _ledger.CountAsync());
    }

    [Fact]
    public async Task Reversal_reconciliation_and_withholding_have_their_documented_routes()
    {
        await _ledger.OpenAccountAsync(Alice);
        await _ledger.IssueAsync(LedgerHost.ThreeQuarters(Alice));
        var http = _ledger.Factory.CreateClient();
        await http.PostAsJsonAsync("/v1/payments", Payment(Alice, 50_000));

        var reversal = await http.PostAsJsonAsync("/v1/payments/website/WEB-1/reversal", new { reason = "refund" });
        Assert.Equal(HttpStatusCode.OK, reversal.StatusCode);
        Assert.Equal(102_648, (await reversal.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outstandingFen").GetInt64());

        var balance = await http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{Alice}/balance");
        Assert.Equal("张*明", balance.GetProperty("holderName").GetString());

        var report = await http.PostAsJsonAsync("/v1/channels/website/statements/2026-10-08/reconciliation", new
        {
            csv = $"transaction_id,user_number,amount_fen,paid_at\nWEB-1,{Alice},50000,2026-10-08 09:30:00\n",
        });
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        var mismatch = (await report.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("mismatches")[0];
        Assert.Equal("reversed", mismatch.GetProperty("kind").GetString());

        var mandate = await http.PutAsJsonAsync($"/v1/channels/bank_withholding/mandates/{Alice}", new
        {
            bankCode = "ICBC", accountHolder = "张三明", bankAccount = "6222021234567890123", mandateReference = "ICBC-2026-0001",
        });
        Assert.Equal(HttpStatusCode.OK, mandate.StatusCode);
        var batch = await (await http.PostAsJsonAsync("/v1/channels/bank_withholding/batches", new { })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(102_648, batch.GetProperty("totalFen").GetInt64());
        var result = await http.PostAsJsonAsync($"/v1/channels/bank_withholding/batches/{batch.GetProperty("batchId").GetString()}/result", new
        {
            csv = $"line,user_number,amount_fen,result,paid_at,reason\n1,{Alice},102648,paid,2026-11-05 02:10:00,\n",
        });
        Assert.Equal(1, (await result.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paid").GetInt32());

        var ledger = await http.GetFromJsonAsync<JsonElement>($"/v1/operator/accounts/{Alice}/ledger");
        Assert.Equal(("张三明", 0L), (ledger.GetProperty("holderName").GetString(), ledger.GetProperty("outstandingFen").GetInt64()));
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync($"/v1/channels/bank_withholding/mandates/{Alice}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/v1/payments/website/WEB-9/reversal", new { })).StatusCode);
    }
}
