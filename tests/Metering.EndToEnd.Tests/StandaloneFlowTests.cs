using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Metering.Standalone;
using Metering.Testing;

namespace Metering.EndToEnd.Tests;

/// <summary>The embedded default: all four services in one host, SQLite files and the in-memory bus, driven over JSON like curl.</summary>
public sealed class StandaloneFlowTests : IDisposable
{
    private readonly ServiceFactory<StandaloneHost> _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task The_standalone_host_runs_the_whole_flow_over_JSON()
    {
        var http = _host.CreateClient();

        var opened = await Json(await http.PostAsJsonAsync("/v1/accounts", new
        {
            holderName = "张三明", address = "东昌府区 幸福小区 3号楼 2单元 301", phone = "13800000001", persons = 3,
            meterSerial = "M-0001", initialRegisterLitres = 0, openedOn = "2026-01-01",
        }));
        var userNumber = opened.GetProperty("userNumber").GetString();

        foreach (var (readOn, register, consumption, billFen) in ThinFlow.Readings)
        {
            var reading = await Eventually.Get(async () => await Json(await http.PostAsJsonAsync(
                $"/v1/accounts/{userNumber}/readings", new { readOn, registerLitres = register })), what: $"reading {readOn}");
            Assert.Equal(consumption, reading.GetProperty("consumptionLitres").GetInt64());
            Assert.Equal("ACCEPTED", reading.GetProperty("status").GetString());

            await Eventually.Get(() => http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{userNumber}/unbilled-consumption"),
                u => u.TryGetProperty("lastReadOn", out var last) && last.GetString() == readOn, what: "Billing to see the reading");
            var run = await Json(await http.PostAsJsonAsync("/v1/billing-runs", new { cutOff = readOn }));
            var runId = run.GetProperty("runId").GetString();
            await Eventually.Get(() => http.GetFromJsonAsync<JsonElement>($"/v1/billing-runs/{runId}"),
                r => r.GetProperty("status").GetString() == "COMPLETED", what: $"run {readOn} to complete");

            var bills = await http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{userNumber}/bills");
            var last = bills.GetProperty("bills").EnumerateArray().Last();
            Assert.Equal(billFen, last.GetProperty("amountFen").GetInt64());
        }

        await Eventually.Get(() => http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{userNumber}/balance"),
            b => b.GetProperty("outstandingFen").GetInt64() == ThinFlow.BalanceFen, what: "the balance");

        var payment = new
        {
            userNumber, channel = "counter", channelTransactionId = "C-20261005-0001",
            amountFen = ThinFlow.PaymentFen, paidAt = "2026-10-05T02:00:00Z",
        };
        var paid = await Json(await http.PostAsJsonAsync("/v1/payments", payment));
        Assert.Equal(ThinFlow.OutstandingAfterPaymentFen, paid.GetProperty("outstandingFen").GetInt64());
        var again = await Json(await http.PostAsJsonAsync("/v1/payments", payment));
        Assert.Equal(paid.GetProperty("paymentId").GetString(), again.GetProperty("paymentId").GetString());

        var conflict = await http.PostAsJsonAsync("/v1/payments", payment with { amountFen = 1L });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        var balance = await http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{userNumber}/balance");
        Assert.Equal(ThinFlow.OutstandingAfterPaymentFen, balance.GetProperty("outstandingFen").GetInt64());
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<JsonElement>(body);
    }
}
