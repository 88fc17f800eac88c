using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Metering.Readings.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ReadingLifecycle : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "CorrectedAt",
                table: "Readings",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "HoldReason",
                table: "Readings",
                type: "TEXT",
                maxLength: 300,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "ReleasedAt",
                table: "Readings",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ClosedOn",
                table: "Accounts",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "Corrections",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ReadingId = table.Column<Guid>(type: "TEXT", nullable: false),
                    AccountId = table.Column<long>(type: "INTEGER", nullable: false),
                    OldRegisterLitres = table.Column<long>(type: "INTEGER", nullable: false),
                    NewRegisterLitres = table.Column<long>(type: "INTEGER", nullable: false),
                    OldConsumptionLitres = table.Column<long>(type: "INTEGER", nullable: false),
                    NewConsumptionLitres = table.Column<long>(type: "INTEGER", nullable: false),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    CorrectedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Corrections", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Corrections_Readings_ReadingId",
                        column: x => x.ReadingId,
                        principalTable: "Readings",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Readings_Status",
                table: "Readings",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_Corrections_AccountId",
                table: "Corrections",
                column: "AccountId");

            migrationBuilder.CreateIndex(
                name: "IX_Corrections_ReadingId",
                table: "Corrections",
                column: "ReadingId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Corrections");

            migrationBuilder.DropIndex(
                name: "IX_Readings_Status",
                table: "Readings");

            migrationBuilder.DropColumn(
                name: "CorrectedAt",
                table: "Readings");

            migrationBuilder.DropColumn(
                name: "HoldReason",
                table: "Readings");

            migrationBuilder.DropColumn(
                name: "ReleasedAt",
                table: "Readings");

            migrationBuilder.DropColumn(
                name: "ClosedOn",
                table: "Accounts");
        }
    }
}
