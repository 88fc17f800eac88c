using FsCheck.Xunit;
using Metering.Accounts.Domain;
using Metering.Domain;

namespace Metering.Accounts.Tests;

public class UserNumberTests
{
    [Theory]
    // Luhn's textbook example: 7992739871 + 3.
    [InlineData("7992739871", '3')]
    [InlineData("100000001", '6')]
    [InlineData("000000000", '0')]
    [InlineData("123456789", '7')]
    public void Check_digit_follows_Luhn(string body, char expected) =>
        Assert.Equal(expected, Luhn.CheckDigit(body));

    [Fact]
    public void A_valid_number_parses() =>
        Assert.Equal("1000000016", UserNumber.Parse("1000000016").Value);

    [Theory]
    [InlineData("", "is required")]
    [InlineData("100000001", "must have 10 digits")]
    [InlineData("10000000160", "must have 10 digits")]
    [InlineData("10000a0016", "digits only")]
    [InlineData("1000000017", "check digit")]
    public void Malformed_numbers_are_refused_naming_the_field(string text, string reason)
    {
        var error = Assert.Throws<InvalidArgumentException>(() => UserNumber.Parse(text, "user_number"));
        Assert.Equal("user_number", error.Field);
        Assert.Contains(reason, error.Reason);
    }

    [Property]
    public bool Every_single_digit_typo_is_caught(uint seed, byte position, byte delta)
    {
        var number = UserNumber.FromBody(seed % 1_000_000_000).Value.ToCharArray();
        var i = position % UserNumber.Length;
        var change = 1 + delta % 9;
        number[i] = (char)('0' + (number[i] - '0' + change) % 10);
        return !Luhn.IsValid(number);
    }

    [Fact]
    public void Plan_puts_the_prefix_first_and_pads_the_serial()
    {
        var plan = new UserNumberPlan("37");
        Assert.StartsWith("370000001", plan.For(1).Value);
        Assert.StartsWith("379999999", plan.For(9_999_999).Value);
    }

    [Fact]
    public void Plan_refuses_a_serial_beyond_its_prefix()
    {
        var plan = new UserNumberPlan("9");
        Assert.Throws<FailedPreconditionException>(() => plan.For(plan.MaxSerial + 1));
    }
}
