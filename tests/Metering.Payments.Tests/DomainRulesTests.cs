using Metering.Domain;
using Metering.Payments.Domain;

namespace Metering.Payments.Tests;

public class DomainRulesTests
{
    [Theory]
    [InlineData("张三明", "张*明")]
    [InlineData("张三", "张*")]
    [InlineData("欧阳小明", "欧**明")]
    [InlineData("张", "张")]
    [InlineData("  ", "")]
    [InlineData(null, "")]
    public void Holder_names_are_masked_for_channels(string? name, string masked) =>
        Assert.Equal(masked, Masking.HolderName(name));

    [Theory]
    [InlineData("东昌府区 幸福小区 3号楼 2单元 301", "幸福小区 3号楼")]
    [InlineData("幸福小区 12栋 1单元 502", "幸福小区 12栋")]
    [InlineData("东昌府区 3号楼 2单元 301", "3号楼")]
    [InlineData("东昌府区 幸福小区 2单元 301", "幸福小区")]
    [InlineData("", "")]
    public void Addresses_keep_community_and_building_only(string address, string masked) =>
        Assert.Equal(masked, Masking.Address(address));

    [Theory]
    [InlineData("6222021234567890123", "6222***********0123")]
    [InlineData("6222 0212 3456", "6222****3456")]
    public void Bank_accounts_are_kept_masked(string number, string masked) =>
        Assert.Equal(masked, BankAccount.Mask(number));

    private static readonly Guid Q1 = Guid.Parse("00000000-0000-0000-0000-000000000001");
    private static readonly Guid Q2 = Guid.Parse("00000000-0000-0000-0000-000000000002");
    private static readonly Guid Q3 = Guid.Parse("00000000-0000-0000-0000-000000000003");

    [Fact]
    public void A_reversal_undoes_its_own_allocations_first_then_takes_credit_then_undoes_credit_allocations()
    {
        var plan = Reversal.Plan(50_000,
            [new UndoableAllocation(1, Q1, 33_200)],
            creditFen: 6_000,
            [new UndoableAllocation(9, Q3, 20_000), new UndoableAllocation(5, Q2, 20_000)]);

        Assert.Equal([new UndoableAllocation(1, Q1, 33_200), new UndoableAllocation(9, Q3, 10_800)], plan.Undone);
        Assert.Equal(6_000, plan.CreditTakenFen);
        Assert.Equal(50_000, plan.UndoneFen + plan.CreditTakenFen);
    }

    [Fact]
    public void A_ledger_that_cannot_account_for_the_money_is_a_bug() =>
        Assert.Throws<InvalidOperationException>(() => Reversal.Plan(100, [], 50, []));

    private static readonly TimeZoneInfo Beijing = UtilityCalendar.For(null).Zone;

    [Fact]
    public void Statement_times_without_an_offset_are_the_utilitys_local_time()
    {
        var entries = Statement.Parse("transaction_id,user_number,amount_fen,paid_at\n" +
            "a,1000000016,100,2026-10-08 09:00:00\nb,1000000016,200,2026-10-08T09:00:00Z\n", Beijing);

        Assert.Equal(new DateTimeOffset(2026, 10, 8, 1, 0, 0, TimeSpan.Zero), entries[0].PaidAt);
        Assert.Equal(new DateTimeOffset(2026, 10, 8, 9, 0, 0, TimeSpan.Zero), entries[1].PaidAt);
        Assert.Equal([2, 3], entries.Select(e => e.Line));
    }

    [Fact]
    public void Reconciling_sorts_each_line_into_one_kind()
    {
        var at = new DateTimeOffset(2026, 10, 8, 1, 0, 0, TimeSpan.Zero);
        var number = UserNumber.Parse("1000000016");
        StatementEntry Line(string id, long fen) => new(2, id, number, fen, at);
        LedgerPaymentView Ours(string id, long fen, bool reversed = false, string user = "1000000016") =>
            new(Guid.NewGuid(), id, user, fen, at, reversed);
        var ours = new[] { Ours("m", 1), Ours("a", 5), Ours("r", 3, reversed: true), Ours("u", 4, user: "1000000024"), Ours("x", 9) };

        var result = Statement.Reconcile([Line("m", 1), Line("a", 6), Line("r", 3), Line("u", 4), Line("n", 7)],
            ours.ToDictionary(o => o.TransactionId), ours);

        Assert.Equal(["m"], result.Matched.Select(m => m.TransactionId));
        Assert.Equal(["n"], result.MissingOnOurSide.Select(m => m.TransactionId));
        Assert.Equal(["x"], result.MissingOnChannelSide.Select(m => m.TransactionId));
        Assert.Equal([("a", MismatchKind.Amount), ("r", MismatchKind.Reversed), ("u", MismatchKind.UserNumber)],
            result.Mismatches.Select(m => (m.Entry.TransactionId, m.Kind)));
    }
}
