using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Metering.Billing.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class AuditTrailAndLeanRunIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Consumptions_BillId_UserNumber_ReadOn",
                table: "Consumptions");

            migrationBuilder.DropIndex(
                name: "IX_Bills_RunId",
                table: "Bills");

            migrationBuilder.DropIndex(
                name: "IX_BillLines_Year",
                table: "BillLines");

            migrationBuilder.CreateTable(
                name: "AuditEntries",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    At = table.Column<DateTime>(type: "datetime2", nullable: false),
                    KeyId = table.Column<string>(type: "nvarchar(100)", maxLength: 100, nullable: false),
                    Role = table.Column<string>(type: "nvarchar(50)", maxLength: 50, nullable: false),
                    Rpc = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    Target = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: true),
                    Before = table.Column<string>(type: "nvarchar(max)", nullable: true),
                    Request = table.Column<string>(type: "nvarchar(max)", nullable: false),
                    After = table.Column<string>(type: "nvarchar(max)", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AuditEntries", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Consumptions_Unbilled",
                table: "Consumptions",
                columns: new[] { "UserNumber", "ReadOn" },
                filter: "[BillId] IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_AuditEntries_At",
                table: "AuditEntries",
                column: "At");

            migrationBuilder.CreateIndex(
                name: "IX_AuditEntries_Target",
                table: "AuditEntries",
                column: "Target");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "AuditEntries");

            migrationBuilder.DropIndex(
                name: "IX_Consumptions_Unbilled",
                table: "Consumptions");

            migrationBuilder.CreateIndex(
                name: "IX_Consumptions_BillId_UserNumber_ReadOn",
                table: "Consumptions",
                columns: new[] { "BillId", "UserNumber", "ReadOn" });

            migrationBuilder.CreateIndex(
                name: "IX_Bills_RunId",
                table: "Bills",
                column: "RunId");

            migrationBuilder.CreateIndex(
                name: "IX_BillLines_Year",
                table: "BillLines",
                column: "Year");
        }
    }
}
