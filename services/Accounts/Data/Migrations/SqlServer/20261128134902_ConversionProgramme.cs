using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Metering.Accounts.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class ConversionProgramme : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "ActualCostFen",
                table: "Risers",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ConvertedOn",
                table: "Risers",
                type: "date",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Consent",
                table: "Households",
                type: "nvarchar(16)",
                maxLength: 16,
                nullable: false,
                // Households surveyed before consent was recorded have no signature yet.
                defaultValue: "Missing");

            migrationBuilder.AddColumn<string>(
                name: "ConsentSignedBy",
                table: "Households",
                type: "nvarchar(50)",
                maxLength: 50,
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ConsentSignedOn",
                table: "Households",
                type: "date",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ResidentFeePaidFen",
                table: "Households",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ResidentFeePaidOn",
                table: "Households",
                type: "date",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "UserNumberPrefix",
                table: "Communities",
                type: "nvarchar(4)",
                maxLength: 4,
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ClosedOn",
                table: "Accounts",
                type: "date",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ClosedReason",
                table: "Accounts",
                type: "nvarchar(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "HouseholdId",
                table: "Accounts",
                type: "bigint",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "AccountChanges",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    AccountId = table.Column<long>(type: "bigint", nullable: false),
                    Kind = table.Column<string>(type: "nvarchar(24)", maxLength: 24, nullable: false),
                    EffectiveOn = table.Column<DateOnly>(type: "date", nullable: false),
                    Before = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: true),
                    After = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: true),
                    RecordedAt = table.Column<DateTime>(type: "datetime2", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AccountChanges", x => x.Id);
                    table.ForeignKey(
                        name: "FK_AccountChanges_Accounts_AccountId",
                        column: x => x.AccountId,
                        principalTable: "Accounts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "HandoverManifests",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Scope = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    ScopeId = table.Column<long>(type: "bigint", nullable: false),
                    Recipient = table.Column<string>(type: "nvarchar(100)", maxLength: 100, nullable: false),
                    HandedOverOn = table.Column<DateOnly>(type: "date", nullable: false),
                    AccountCount = table.Column<int>(type: "int", nullable: false),
                    IssuedAt = table.Column<DateTime>(type: "datetime2", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_HandoverManifests", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "HandoverLines",
                columns: table => new
                {
                    ManifestId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Position = table.Column<int>(type: "int", nullable: false),
                    UserNumber = table.Column<string>(type: "nchar(10)", fixedLength: true, maxLength: 10, nullable: false),
                    HolderName = table.Column<string>(type: "nvarchar(50)", maxLength: 50, nullable: false),
                    Address = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    Phone = table.Column<string>(type: "nvarchar(20)", maxLength: 20, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_HandoverLines", x => new { x.ManifestId, x.Position });
                    table.ForeignKey(
                        name: "FK_HandoverLines_HandoverManifests_ManifestId",
                        column: x => x.ManifestId,
                        principalTable: "HandoverManifests",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Accounts_HolderName",
                table: "Accounts",
                column: "HolderName");

            migrationBuilder.CreateIndex(
                name: "IX_Accounts_HouseholdId",
                table: "Accounts",
                column: "HouseholdId",
                unique: true,
                filter: "[HouseholdId] IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Accounts_Phone",
                table: "Accounts",
                column: "Phone");

            migrationBuilder.CreateIndex(
                name: "IX_AccountChanges_AccountId",
                table: "AccountChanges",
                column: "AccountId");

            migrationBuilder.CreateIndex(
                name: "IX_HandoverManifests_Scope_ScopeId",
                table: "HandoverManifests",
                columns: new[] { "Scope", "ScopeId" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "AccountChanges");

            migrationBuilder.DropTable(
                name: "HandoverLines");

            migrationBuilder.DropTable(
                name: "HandoverManifests");

            migrationBuilder.DropIndex(
                name: "IX_Accounts_HolderName",
                table: "Accounts");

            migrationBuilder.DropIndex(
                name: "IX_Accounts_HouseholdId",
                table: "Accounts");

            migrationBuilder.DropIndex(
                name: "IX_Accounts_Phone",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "ActualCostFen",
                table: "Risers");

            migrationBuilder.DropColumn(
                name: "ConvertedOn",
                table: "Risers");

            migrationBuilder.DropColumn(
                name: "Consent",
                table: "Households");

            migrationBuilder.DropColumn(
                name: "ConsentSignedBy",
                table: "Households");

            migrationBuilder.DropColumn(
                name: "ConsentSignedOn",
                table: "Households");

            migrationBuilder.DropColumn(
                name: "ResidentFeePaidFen",
                table: "Households");

            migrationBuilder.DropColumn(
                name: "ResidentFeePaidOn",
                table: "Households");

            migrationBuilder.DropColumn(
                name: "UserNumberPrefix",
                table: "Communities");

            migrationBuilder.DropColumn(
                name: "ClosedOn",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "ClosedReason",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "HouseholdId",
                table: "Accounts");
        }
    }
}
