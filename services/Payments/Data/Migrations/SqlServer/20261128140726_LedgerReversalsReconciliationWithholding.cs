using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Metering.Payments.Data.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class LedgerReversalsReconciliationWithholding : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "CancelledAt",
                table: "Receivables",
                type: "datetime2",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ReversalCreditAfterFen",
                table: "Payments",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "ReversalCreditTakenFen",
                table: "Payments",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "ReversalOutstandingAfterFen",
                table: "Payments",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "ReversalReason",
                table: "Payments",
                type: "nvarchar(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "ReversedAt",
                table: "Payments",
                type: "datetime2",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "UndoesAllocationId",
                table: "Allocations",
                type: "bigint",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "WithholdingBatches",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    BankCode = table.Column<string>(type: "varchar(16)", unicode: false, maxLength: 16, nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "datetime2", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_WithholdingBatches", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "WithholdingMandates",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    LedgerAccountId = table.Column<long>(type: "bigint", nullable: false),
                    UserNumber = table.Column<string>(type: "char(10)", unicode: false, fixedLength: true, maxLength: 10, nullable: false),
                    BankCode = table.Column<string>(type: "varchar(16)", unicode: false, maxLength: 16, nullable: false),
                    MandateReference = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: false),
                    AccountHolder = table.Column<string>(type: "nvarchar(50)", maxLength: 50, nullable: false),
                    BankAccountMasked = table.Column<string>(type: "varchar(19)", unicode: false, maxLength: 19, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "datetime2", nullable: false),
                    RevokedAt = table.Column<DateTime>(type: "datetime2", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_WithholdingMandates", x => x.Id);
                    table.ForeignKey(
                        name: "FK_WithholdingMandates_LedgerAccounts_LedgerAccountId",
                        column: x => x.LedgerAccountId,
                        principalTable: "LedgerAccounts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "WithholdingBatchLines",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("SqlServer:Identity", "1, 1"),
                    BatchId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Line = table.Column<int>(type: "int", nullable: false),
                    UserNumber = table.Column<string>(type: "char(10)", unicode: false, fixedLength: true, maxLength: 10, nullable: false),
                    BankCode = table.Column<string>(type: "varchar(16)", unicode: false, maxLength: 16, nullable: false),
                    MandateReference = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: false),
                    AccountHolder = table.Column<string>(type: "nvarchar(50)", maxLength: 50, nullable: false),
                    BankAccountMasked = table.Column<string>(type: "varchar(19)", unicode: false, maxLength: 19, nullable: false),
                    AmountFen = table.Column<long>(type: "bigint", nullable: false),
                    Outcome = table.Column<string>(type: "varchar(16)", unicode: false, maxLength: 16, nullable: true),
                    PaymentId = table.Column<Guid>(type: "uniqueidentifier", nullable: true),
                    Reason = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_WithholdingBatchLines", x => x.Id);
                    table.ForeignKey(
                        name: "FK_WithholdingBatchLines_WithholdingBatches_BatchId",
                        column: x => x.BatchId,
                        principalTable: "WithholdingBatches",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Payments_Channel_PaidAt",
                table: "Payments",
                columns: new[] { "Channel", "PaidAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Allocations_UndoesAllocationId",
                table: "Allocations",
                column: "UndoesAllocationId");

            migrationBuilder.CreateIndex(
                name: "IX_WithholdingBatchLines_BatchId_Line",
                table: "WithholdingBatchLines",
                columns: new[] { "BatchId", "Line" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_WithholdingMandates_LedgerAccountId",
                table: "WithholdingMandates",
                column: "LedgerAccountId");

            migrationBuilder.CreateIndex(
                name: "IX_WithholdingMandates_UserNumber",
                table: "WithholdingMandates",
                column: "UserNumber",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "WithholdingBatchLines");

            migrationBuilder.DropTable(
                name: "WithholdingMandates");

            migrationBuilder.DropTable(
                name: "WithholdingBatches");

            migrationBuilder.DropIndex(
                name: "IX_Payments_Channel_PaidAt",
                table: "Payments");

            migrationBuilder.DropIndex(
                name: "IX_Allocations_UndoesAllocationId",
                table: "Allocations");

            migrationBuilder.DropColumn(
                name: "CancelledAt",
                table: "Receivables");

            migrationBuilder.DropColumn(
                name: "ReversalCreditAfterFen",
                table: "Payments");

            migrationBuilder.DropColumn(
                name: "ReversalCreditTakenFen",
                table: "Payments");

            migrationBuilder.DropColumn(
                name: "ReversalOutstandingAfterFen",
                table: "Payments");

            migrationBuilder.DropColumn(
                name: "ReversalReason",
                table: "Payments");

            migrationBuilder.DropColumn(
                name: "ReversedAt",
                table: "Payments");

            migrationBuilder.DropColumn(
                name: "UndoesAllocationId",
                table: "Allocations");
        }
    }
}
