using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Metering.Accounts.Data.Migrations.Sqlite
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
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ConvertedOn",
                table: "Risers",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Consent",
                table: "Households",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                // Households surveyed before consent was recorded have no signature yet.
                defaultValue: "Missing");

            migrationBuilder.AddColumn<string>(
                name: "ConsentSignedBy",
                table: "Households",
                type: "TEXT",
                maxLength: 50,
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ConsentSignedOn",
                table: "Households",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ResidentFeePaidFen",
                table: "Households",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ResidentFeePaidOn",
                table: "Households",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "UserNumberPrefix",
                table: "Communities",
                type: "TEXT",
                maxLength: 4,
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ClosedOn",
                table: "Accounts",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ClosedReason",
                table: "Accounts",
                type: "TEXT",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "HouseholdId",
                table: "Accounts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "AccountChanges",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AccountId = table.Column<long>(type: "INTEGER", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 24, nullable: false),
                    EffectiveOn = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    Before = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    After = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    RecordedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
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
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Scope = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    ScopeId = table.Column<long>(type: "INTEGER", nullable: false),
                    Recipient = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    HandedOverOn = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    AccountCount = table.Column<int>(type: "INTEGER", nullable: false),
                    IssuedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_HandoverManifests", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "HandoverLines",
                columns: table => new
                {
                    ManifestId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    UserNumber = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 10, nullable: false),
                    HolderName = table.Column<string>(type: "TEXT", maxLength: 50, nullable: false),
                    Address = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Phone = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false)
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
                unique: true);

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
