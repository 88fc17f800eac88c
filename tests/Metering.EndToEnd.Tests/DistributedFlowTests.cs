using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Payments.V1;
using Metering.Contracts.Readings.V1;
using Metering.Testing;
using Xunit.Abstractions;
using AccountsClient = Metering.Contracts.Accounts.V1.Accounts.AccountsClient;
using BillingClient = Metering.Contracts.Billing.V1.Billing.BillingClient;
using PaymentsClient = Metering.Contracts.Payments.V1.Payments.PaymentsClient;
using ReadingsClient = Metering.Contracts.Readings.V1.Readings.ReadingsClient;

namespace Metering.EndToEnd.Tests;

[Trait("Category", "EndToEnd")]
public sealed class DistributedFlowTests(DistributedSystem system, ITestOutputHelper output)
    : IClassFixture<DistributedSystem>
{
    private static readonly TimeSpan EventDeadline = TimeSpan.FromSeconds(30);

    private static GrpcChannel Channel(ServiceProcess service) => service.OpenChannel();

    private static OpenAccountRequest Household(string serial) => new()
    {
        HolderName = "张三明",
        Address = "东昌府区 幸福小区 3号楼 2单元 301",
        Phone = "13800000001",
        Persons = 3,
        MeterSerial = serial,
        InitialRegisterLitres = 0,
        OpenedOn = "2026-01-01",
    };

    [Fact]
    public async Task A_household_is_opened_read_billed_and_paid_across_four_processes_and_the_broker()
    {
        try
        {
            await RunFlowAsync();
        }
        catch
        {
            output.WriteLine(system.Diagnostics());
            throw;
        }
    }

    private async Task RunFlowAsync()
    {
        using var accountsChannel = Channel(system["Accounts"]);
        using var readingsChannel = Channel(system["Readings"]);
        using var billingChannel = Channel(system["Billing"]);
        using var paymentsChannel = Channel(system["Payments"]);
        var accounts = new AccountsClient(accountsChannel);
        var readings = new ReadingsClient(readingsChannel);
        var billing = new BillingClient(billingChannel);
        var payments = new PaymentsClient(paymentsChannel);

        var userNumber = (await accounts.OpenAccountAsync(Household($"E2E-{Guid.NewGuid():N}"[..20]))).UserNumber;

        var billIds = new List<string>();
        foreach (var (readOn, register, consumption, billFen) in ThinFlow.Readings)
        {
            // AccountOpened reaches Readings through the broker: until then the account is unknown there.
            var accepted = await Eventually.Get(
                () => readings.RecordReadingAsync(new RecordReadingRequest
                    { UserNumber = userNumber, ReadOn = readOn, RegisterLitres = register }).ResponseAsync,
                EventDeadline, $"reading {readOn} to be accepted");
            Assert.Equal(consumption, accepted.ConsumptionLitres);
            Assert.Equal(ReadingStatus.Accepted, accepted.Status);

            await Eventually.Get(
                () => billing.GetUnbilledConsumptionAsync(new GetUnbilledConsumptionRequest { UserNumber = userNumber }).ResponseAsync,
                u => u.LastReadOn == readOn, EventDeadline, $"Billing to receive the reading of {readOn}");

            var run = await billing.StartBillingRunAsync(new StartBillingRunRequest { CutOff = readOn });
            var done = await Eventually.Get(
                () => billing.GetBillingRunAsync(new GetBillingRunRequest { RunId = run.RunId }).ResponseAsync,
                r => r.Status is BillingRunStatus.Completed or BillingRunStatus.Failed, EventDeadline, $"run {readOn}");
            Assert.Equal(BillingRunStatus.Completed, done.Status);

            var bills = await billing.ListBillsAsync(new ListBillsRequest { UserNumber = userNumber });
            var bill = bills.Bills.Last();
            Assert.Equal(readOn, bill.PeriodEnd);
            Assert.Equal(billFen, bill.AmountFen);
            Assert.Equal(bill.AmountFen, bill.Lines.Sum(l => l.AmountFen));
            billIds.Add(bill.BillId);
        }

        // BillIssued reaches Payments through the broker; the channels' JSON route answers from its ledger.
        using var http = new HttpClient { BaseAddress = system["Payments"].HttpAddress };
        http.DefaultRequestHeaders.Add("x-api-key", ServiceProcess.OperatorKey);
        var balance = await Eventually.Get(
            () => http.GetFromJsonAsync<JsonElement>($"/v1/accounts/{userNumber}/balance"),
            b => b.GetProperty("outstandingFen").GetInt64() == ThinFlow.BalanceFen, EventDeadline, "the three bills in the ledger");
        Assert.Equal(3, balance.GetProperty("unpaidBills").GetArrayLength());

        var payment = new PostPaymentRequest
        {
            UserNumber = userNumber,
            Channel = "wechat",
            ChannelTransactionId = $"wx-{Guid.NewGuid():N}",
            AmountFen = ThinFlow.PaymentFen,
            PaidAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 10, 5, 10, 0, 0, TimeSpan.FromHours(8))),
        };
        var paid = await payments.PostPaymentAsync(payment);
        Assert.Equal(ThinFlow.OutstandingAfterPaymentFen, paid.OutstandingFen);

        var again = await payments.PostPaymentAsync(payment);
        Assert.Equal(paid.PaymentId, again.PaymentId);
        Assert.Equal(ThinFlow.OutstandingAfterPaymentFen, again.OutstandingFen);

        var after = await payments.GetBalanceAsync(new GetBalanceRequest { UserNumber = userNumber });
        Assert.Equal(ThinFlow.OutstandingAfterPaymentFen, after.OutstandingFen);
        Assert.DoesNotContain(after.UnpaidBills, b => b.BillId == billIds[0]);
        Assert.Equal(17_158 - (ThinFlow.PaymentFen - 33_200), after.UnpaidBills.Single(b => b.BillId == billIds[1]).OutstandingFen);

        // Refusals cross the process boundary with their codes.
        var conflict = await Assert.ThrowsAsync<RpcException>(() =>
            payments.PostPaymentAsync(new PostPaymentRequest(payment) { AmountFen = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, conflict.StatusCode);
        var lower = await Assert.ThrowsAsync<RpcException>(() => readings.RecordReadingAsync(new RecordReadingRequest
            { UserNumber = userNumber, ReadOn = "2026-10-31", RegisterLitres = 1_000 }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, lower.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/v1/accounts/12345/balance")).StatusCode);
    }

    [Fact]
    public async Task An_event_committed_before_a_crash_is_published_after_the_restart()
    {
        try
        {
            // Accounts commits the account and its AccountOpened row, but its relay does not run...
            await system.RestartAsync("Accounts", new Dictionary<string, string> { ["Outbox__RelayEnabled"] = "false" });
            using (var channel = Channel(system["Accounts"]))
            {
                var userNumber = (await new AccountsClient(channel)
                    .OpenAccountAsync(Household($"CRASH-{Guid.NewGuid():N}"[..20]))).UserNumber;

                using var readingsChannel = Channel(system["Readings"]);
                var readings = new ReadingsClient(readingsChannel);
                var reading = new RecordReadingRequest { UserNumber = userNumber, ReadOn = "2026-02-01", RegisterLitres = 5_000 };
                await Task.Delay(TimeSpan.FromSeconds(2));
                var unknown = await Assert.ThrowsAsync<RpcException>(() => readings.RecordReadingAsync(reading).ResponseAsync);
                Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

                // ...and the process dies (SIGKILL). The restarted process publishes what was committed.
                await system["Accounts"].KillAsync();
                await system.RestartAsync("Accounts", new Dictionary<string, string>());

                var accepted = await Eventually.Get(() => readings.RecordReadingAsync(reading).ResponseAsync,
                    EventDeadline, "AccountOpened to arrive after the restart");
                Assert.Equal(5_000, accepted.ConsumptionLitres);
            }
        }
        catch
        {
            output.WriteLine(system.Diagnostics());
            throw;
        }
    }
}
