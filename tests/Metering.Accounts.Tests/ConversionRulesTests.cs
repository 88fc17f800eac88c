using Metering.Accounts.Domain;
using Metering.Domain;

namespace Metering.Accounts.Tests;

/// <summary>The programme's rules as plain classes, without a host.</summary>
public class ConversionRulesTests
{
    [Theory]
    [InlineData("13800000001", true)]
    [InlineData("0635-8888888", true)]
    [InlineData("+86 138 0000 0001", true)]
    [InlineData("123456", false)]
    [InlineData("1234567890123456", false)]
    [InlineData("138-call-me", false)]
    public void Phone_numbers_are_7_to_15_digits_with_the_separators_people_type(string phone, bool valid)
    {
        var accepted = Record.Exception(() => Fields.Phone(phone)) is null;

        Assert.Equal(valid, accepted);
    }

    [Fact]
    public void A_survey_csv_is_read_by_header_name_in_any_column_order_with_its_line_numbers()
    {
        var rows = SurveyCsv.Parse("\uFEFFPhone, Persons,community,building,riser,unit,holder\r\n13800000001,3,幸福小区,3号楼,2单元,101,\"王, 小红\"\r\n\r\n13800000002,2,幸福小区,3号楼,2单元,102,李四\r\n");

        Assert.Equal(2, rows.Count);
        Assert.Equal(new SurveyRow(2, "幸福小区", "3号楼", "2单元", "101", "王, 小红", "13800000001", "3"), rows[0]);
        Assert.Equal(4, rows[1].Line);
    }

    [Theory]
    [InlineData("幸福小区,3号楼,2单元,101,王小红,13800000001,3,extra\n")]
    [InlineData("幸福小区,3号楼,2单元,101\n")]
    [InlineData("幸福小区,3号楼,2单元,101,\"王小红,13800000001,3\n幸福小区,3号楼,2单元,102,李四,13800000002,2\n")]
    public void A_malformed_row_is_read_as_a_row_and_left_to_the_row_checks(string body)
    {
        var rows = SurveyCsv.Parse("community,building,riser,unit,holder,phone,persons\n" + body);

        Assert.NotEmpty(rows);
        Assert.Equal("幸福小区", rows[0].Community);
    }

    [Fact]
    public void Text_decoded_from_another_encoding_is_refused()
    {
        var error = Assert.Throws<InvalidArgumentException>(() => SurveyCsv.Parse("community,building\n\uFFFD\uFFFD,1\n"));

        Assert.Equal("csv", error.Field);
    }

    [Fact]
    public void Survey_rows_are_created_unchanged_or_refused_against_what_is_registered()
    {
        var registered = new Dictionary<(string, string, string), SurveyedHousehold>
        {
            [("3号楼", "1单元", "101")] = new(7, new HouseholdDetails("101", "王小红", "13800000001", 3)),
        };
        SurveyRow Row(int line, string riser, string unit, string holder = "王小红") =>
            new(line, "幸福小区", "3号楼", riser, unit, holder, "13800000001", "3");

        var decisions = SurveyImport.Decide("幸福小区",
            [Row(2, "1单元", "101"), Row(3, "1单元", "101", "别人"), Row(4, "1单元", "102"), Row(5, "9单元", "101")],
            new HashSet<(string, string)> { ("3号楼", "9单元") }, registered);

        Assert.Equal([SurveyOutcome.Unchanged, SurveyOutcome.Refused, SurveyOutcome.Created, SurveyOutcome.Refused],
            decisions.Select(d => d.Outcome));
        Assert.Equal(7, decisions[0].HouseholdId);
        Assert.Contains("already converted", decisions[3].Reason);
    }

    [Fact]
    public void A_riser_plan_gives_every_household_its_meter()
    {
        var households = new List<ConvertingHousehold> { new(1, "101", ConsentState.Consented), new(2, "102", ConsentState.Consented) };

        var plan = RiserConversion.Plan("2单元", false, households, [new("102", "M-2", 5), new("101", "M-1", 0)]);

        Assert.Equal("M-1", plan[1].MeterSerial);
        Assert.Equal(5, plan[2].InitialRegisterLitres);
    }

    [Fact]
    public void Consent_is_checked_before_the_meters()
    {
        var households = new List<ConvertingHousehold> { new(1, "101", ConsentState.Refused) };

        var error = Assert.Throws<FailedPreconditionException>(() => RiserConversion.Plan("2单元", false, households, []));

        Assert.Contains("101 (refused)", error.Message);
    }

    [Theory]
    [InlineData(5000_00, 2, 700_00, 3600_00, 700_00)]
    [InlineData(3000_00, 3, 1050_00, 1950_00, 0)]
    [InlineData(100, 3, 100, 0, 0)]
    [InlineData(0, 2, 0, 0, 0)]
    public void A_riser_cost_is_split_evenly_and_shared_by_household(long cost, int households, long resident, long finance, long utility)
    {
        var shares = CostSplit.ForRiser(cost, households);

        Assert.Equal(new CostShare(resident, finance, utility), shares);
        Assert.Equal(cost, shares.TotalFen);
    }

    [Fact]
    public void The_odd_fen_of_a_split_go_to_the_first_households()
    {
        Assert.Equal([34, 33, 33], CostSplit.PerHousehold(100, 3));
    }

    [Fact]
    public void Outstanding_resident_fees_are_what_each_household_still_owes_of_its_own_share()
    {
        var costs = ProgrammeCosts.ForRiser(3000_00, [350_00, 100_00, 0]);

        Assert.Equal(450_00, costs.ResidentCollectedFen);
        Assert.Equal(250_00 + 350_00, costs.ResidentOutstandingFen);
    }

    [Fact]
    public void Overlapping_user_number_prefixes_are_refused_at_start()
    {
        Assert.Throws<ArgumentException>(() =>
            new UserNumberPlans(new UserNumberPlan("1"), new Dictionary<string, string> { ["茌平区"] = "12" }));
    }

    [Fact]
    public void The_handover_csv_starts_with_a_bom_and_quotes_what_needs_quotes()
    {
        var bytes = HandoverCsv.Write([new HandoverEntry("1000000017", "王, 小红", "东昌府区 幸福小区", "13800000001")]);

        Assert.Equal([0xEF, 0xBB, 0xBF], bytes[..3]);
        Assert.Equal("user_number,holder_name,address,phone\r\n1000000017,\"王, 小红\",东昌府区 幸福小区,13800000001\r\n",
            System.Text.Encoding.UTF8.GetString(bytes[3..]));
    }
}
