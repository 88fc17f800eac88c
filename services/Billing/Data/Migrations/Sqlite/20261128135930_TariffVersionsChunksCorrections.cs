using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

#pragma warning disable CA1814 // Prefer jagged arrays over multidimensional

namespace Metering.Billing.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class TariffVersionsChunksCorrections : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "AccountsTotal",
                table: "Runs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "ChunksDone",
                table: "Runs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "ChunksTotal",
                table: "Runs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<bool>(
                name: "IsTrial",
                table: "Runs",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "VolumeLitres",
                table: "Runs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AlterColumn<Guid>(
                name: "RunId",
                table: "Bills",
                type: "TEXT",
                nullable: true,
                oldClrType: typeof(Guid),
                oldType: "TEXT");

            migrationBuilder.AddColumn<long>(
                name: "BalanceBroughtForwardFen",
                table: "Bills",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CancelReason",
                table: "Bills",
                type: "TEXT",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "CancelledAt",
                table: "Bills",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "ReplacedByBillId",
                table: "Bills",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "ReplacesBillId",
                table: "Bills",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Status",
                table: "Bills",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "TariffName",
                table: "BillLines",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<DateTime>(
                name: "BalanceAt",
                table: "Accounts",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "BalanceFen",
                table: "Accounts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ClosedOn",
                table: "Accounts",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "HouseholdSizes",
                columns: table => new
                {
                    UserNumber = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 10, nullable: false),
                    EffectiveOn = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    Persons = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_HouseholdSizes", x => new { x.UserNumber, x.EffectiveOn });
                });

            migrationBuilder.CreateTable(
                name: "RunChunks",
                columns: table => new
                {
                    RunId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Number = table.Column<int>(type: "INTEGER", nullable: false),
                    FirstUserNumber = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 10, nullable: false),
                    LastUserNumber = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 10, nullable: false),
                    Accounts = table.Column<int>(type: "INTEGER", nullable: false),
                    CompletedAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RunChunks", x => new { x.RunId, x.Number });
                });

            migrationBuilder.CreateTable(
                name: "TariffVersions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    EffectiveFrom = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    BaseHouseholdSize = table.Column<int>(type: "INTEGER", nullable: true),
                    ExtraLitresPerPerson = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TariffVersions", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "TariffTierRow",
                columns: table => new
                {
                    VersionId = table.Column<long>(type: "INTEGER", nullable: false),
                    Tier = table.Column<int>(type: "INTEGER", nullable: false),
                    UpToLitres = table.Column<long>(type: "INTEGER", nullable: true),
                    PriceFenPerM3 = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TariffTierRow", x => new { x.VersionId, x.Tier });
                    table.ForeignKey(
                        name: "FK_TariffTierRow_TariffVersions_VersionId",
                        column: x => x.VersionId,
                        principalTable: "TariffVersions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.InsertData(
                table: "TariffVersions",
                columns: new[] { "Id", "BaseHouseholdSize", "CreatedAt", "EffectiveFrom", "ExtraLitresPerPerson", "Name" },
                values: new object[] { 1L, null, new DateTime(2026, 1, 1, 0, 0, 0, 0, DateTimeKind.Utc), new DateOnly(2000, 1, 1), null, "liaocheng-residential" });

            migrationBuilder.InsertData(
                table: "TariffTierRow",
                columns: new[] { "Tier", "VersionId", "PriceFenPerM3", "UpToLitres" },
                values: new object[,]
                {
                    { 1, 1L, 332L, 144000L },
                    { 2, 1L, 425L, 240000L },
                    { 3, 1L, 702L, null }
                });

            migrationBuilder.CreateIndex(
                name: "IX_BillLines_Year",
                table: "BillLines",
                column: "Year");

            migrationBuilder.CreateIndex(
                name: "IX_TariffVersions_EffectiveFrom",
                table: "TariffVersions",
                column: "EffectiveFrom",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_TariffVersions_Name",
                table: "TariffVersions",
                column: "Name",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "HouseholdSizes");

            migrationBuilder.DropTable(
                name: "RunChunks");

            migrationBuilder.DropTable(
                name: "TariffTierRow");

            migrationBuilder.DropTable(
                name: "TariffVersions");

            migrationBuilder.DropIndex(
                name: "IX_BillLines_Year",
                table: "BillLines");

            migrationBuilder.DropColumn(
                name: "AccountsTotal",
                table: "Runs");

            migrationBuilder.DropColumn(
                name: "ChunksDone",
                table: "Runs");

            migrationBuilder.DropColumn(
                name: "ChunksTotal",
                table: "Runs");

            migrationBuilder.DropColumn(
                name: "IsTrial",
                table: "Runs");

            migrationBuilder.DropColumn(
                name: "VolumeLitres",
                table: "Runs");

            migrationBuilder.DropColumn(
                name: "BalanceBroughtForwardFen",
                table: "Bills");

            migrationBuilder.DropColumn(
                name: "CancelReason",
                table: "Bills");

            migrationBuilder.DropColumn(
                name: "CancelledAt",
                table: "Bills");

            migrationBuilder.DropColumn(
                name: "ReplacedByBillId",
                table: "Bills");

            migrationBuilder.DropColumn(
                name: "ReplacesBillId",
                table: "Bills");

            migrationBuilder.DropColumn(
                name: "Status",
                table: "Bills");

            migrationBuilder.DropColumn(
                name: "TariffName",
                table: "BillLines");

            migrationBuilder.DropColumn(
                name: "BalanceAt",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "BalanceFen",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "ClosedOn",
                table: "Accounts");

            migrationBuilder.AlterColumn<Guid>(
                name: "RunId",
                table: "Bills",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"),
                oldClrType: typeof(Guid),
                oldType: "TEXT",
                oldNullable: true);
        }
    }
}
