using Metering.Accounts.Domain;
using Metering.Domain;

namespace Metering.Accounts.Tests;

public class AccountDetailsTests
{
    private static readonly DateOnly Today = new(2026, 11, 28);

    private static AccountDetails Valid(
        string holder = "王小红", string address = "东昌府区 幸福小区 3号楼 2单元 301", string phone = "13800000001",
        int persons = 3, string serial = "M-0001", long initial = 0, string openedOn = "2026-01-01") =>
        AccountDetails.Validate(holder, address, phone, persons, serial, initial, openedOn, Today);

    [Fact]
    public void Valid_details_are_trimmed_and_kept()
    {
        var details = AccountDetails.Validate(" 王小红 ", "幸福小区", "0635-8888888", 5, "M-1", 12_345, "2026-01-01", Today);
        Assert.Equal("王小红", details.HolderName);
        Assert.Equal(new DateOnly(2026, 1, 1), details.OpenedOn);
        Assert.Equal(12_345, details.InitialRegisterLitres);
    }

    public static TheoryData<Func<AccountDetails>, string> Refusals => new()
    {
        { () => Valid(holder: " "), "holder_name" },
        { () => Valid(holder: new string('x', 51)), "holder_name" },
        { () => Valid(address: ""), "address" },
        { () => Valid(phone: "call me"), "phone" },
        { () => Valid(phone: "12345"), "phone" },
        { () => Valid(persons: 0), "persons" },
        { () => Valid(persons: 31), "persons" },
        { () => Valid(serial: "M 1"), "meter_serial" },
        { () => Valid(initial: -1), "initial_register_litres" },
        { () => Valid(initial: 100_000_000), "initial_register_litres" },
        { () => Valid(openedOn: "2026-13-01"), "opened_on" },
        { () => Valid(openedOn: "01/01/2026"), "opened_on" },
        { () => Valid(openedOn: "2026-11-29"), "opened_on" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Bad_details_are_refused_naming_the_field(Func<AccountDetails> validate, string field) =>
        Assert.Equal(field, Assert.Throws<InvalidArgumentException>(validate).Field);
}
