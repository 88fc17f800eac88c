using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Metering.Readings.Data.Migrations.SqlServer
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
                type: "datetime2",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "HoldReason",
                table: "Readings",
                type: "nvarchar(300)",
                maxLength: 300,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "ReleasedAt",
                table: "Readings",
                type: "datetime2",
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ClosedOn",
                table: "Accounts",
                type: "date",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "Corrections",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    ReadingId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    AccountId = table.Column<long>(type: "bigint", nullable: false),
                    OldRegisterLitres = table.Column<long>(type: "bigint", nullable: false),
                    NewRegisterLitres = table.Column<long>(type: "bigint", nullable: false),
                    OldConsumptionLitres = table.Column<long>(type: "bigint", nullable: false),
                    NewConsumptionLitres = table.Column<long>(type: "bigint", nullable: false),
                    Reason = table.Column<string>(type: "nvarchar(500)", maxLength: 500, nullable: false),
                    CorrectedAt = table.Column<DateTime>(type: "datetime2", nullable: false)
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
