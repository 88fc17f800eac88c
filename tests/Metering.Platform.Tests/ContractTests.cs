using Google.Api;
using Google.Protobuf.Reflection;
using Metering.Contracts.Accounts.V1;
using Metering.Contracts.Billing.V1;
using Metering.Contracts.Payments.V1;
using Metering.Contracts.Readings.V1;

namespace Metering.Platform.Tests;

public class ContractTests
{
    private static readonly FileDescriptor[] Contract =
    [
        AccountsReflection.Descriptor, ReadingsReflection.Descriptor, Contracts.Billing.V1.BillingReflection.Descriptor,
        PaymentsReflection.Descriptor,
    ];

    public static TheoryData<string> UnaryMethods()
    {
        var data = new TheoryData<string>();
        foreach (var method in Contract.SelectMany(f => f.Services).SelectMany(s => s.Methods))
            if (!method.IsClientStreaming && !method.IsServerStreaming)
                data.Add(method.FullName);
        return data;
    }

    [Theory]
    [MemberData(nameof(UnaryMethods))]
    public void Every_unary_RPC_is_also_a_JSON_route(string method)
    {
        var descriptor = Contract.SelectMany(f => f.Services).SelectMany(s => s.Methods).Single(m => m.FullName == method);

        var http = descriptor.GetOptions()?.GetExtension(AnnotationsExtensions.Http);

        Assert.True(http is not null && http.PatternCase != HttpRule.PatternOneofCase.None,
            $"{method} has no google.api.http annotation, so curl cannot reach it");
    }

    [Fact]
    public void Every_contract_file_has_its_versioned_package_and_namespace()
    {
        foreach (var file in Contract)
        {
            var service = file.Services.Single().Name.ToLowerInvariant();
            Assert.Equal($"metering.{service}.v1", file.Package);
            Assert.Equal($"metering/{service}/v1/{service}.proto", file.Name);
        }
    }
}
