using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Metering.Readings.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class ReadingIndexesForBulk : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Readings_AccountId_ReadOn",
                table: "Readings");

            migrationBuilder.DropIndex(
                name: "IX_Readings_Status",
                table: "Readings");

            migrationBuilder.CreateIndex(
                name: "IX_Readings_AccountId_ReadOn_Usage",
                table: "Readings",
                columns: new[] { "AccountId", "ReadOn", "Sequence", "Kind", "Status", "ConsumptionLitres", "PreviousReadOn" });

            migrationBuilder.CreateIndex(
                name: "IX_Readings_Held",
                table: "Readings",
                columns: new[] { "RecordedAt", "Id" },
                filter: "\"Status\" = 'Held'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Readings_AccountId_ReadOn_Usage",
                table: "Readings");

            migrationBuilder.DropIndex(
                name: "IX_Readings_Held",
                table: "Readings");

            migrationBuilder.CreateIndex(
                name: "IX_Readings_AccountId_ReadOn",
                table: "Readings",
                columns: new[] { "AccountId", "ReadOn" });

            migrationBuilder.CreateIndex(
                name: "IX_Readings_Status",
                table: "Readings",
                column: "Status");
        }
    }
}
