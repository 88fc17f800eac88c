using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Payments.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Metering.Payments.Data;

public class PaymentsDbContext(DbContextOptions options) : MessagingDbContext(options)
{
    public DbSet<LedgerAccount> LedgerAccounts => Set<LedgerAccount>();

    public DbSet<Receivable> Receivables => Set<Receivable>();

    public DbSet<Payment> Payments => Set<Payment>();

    public DbSet<Allocation> Allocations => Set<Allocation>();

    public DbSet<WithholdingMandate> WithholdingMandates => Set<WithholdingMandate>();

    public DbSet<WithholdingBatch> WithholdingBatches => Set<WithholdingBatch>();

    public DbSet<WithholdingBatchLine> WithholdingBatchLines => Set<WithholdingBatchLine>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<LedgerAccount>(e =>
        {
            e.HasKey(a => a.Id);
            e.Property(a => a.UserNumber).HasMaxLength(10).IsFixedLength().IsUnicode(false);
            e.HasIndex(a => a.UserNumber).IsUnique();
            e.Property(a => a.HolderName).HasMaxLength(50);
            e.Property(a => a.Address).HasMaxLength(200);
            // Every change to an account's ledger bumps it, so two writers never allocate from one stale view.
            e.Property(a => a.Version).IsConcurrencyToken();
        });
        modelBuilder.Entity<Receivable>(e =>
        {
            e.HasKey(r => r.Id);
            e.HasIndex(r => r.BillId).IsUnique();
            e.HasOne(r => r.Account).WithMany(a => a.Receivables).HasForeignKey(r => r.LedgerAccountId)
                .OnDelete(DeleteBehavior.Restrict);
            e.HasIndex(r => new { r.LedgerAccountId, r.PeriodEnd });
        });
        modelBuilder.Entity<Payment>(e =>
        {
            e.HasKey(p => p.Id);
            e.Property(p => p.UserNumber).HasMaxLength(10).IsFixedLength().IsUnicode(false);
            e.Property(p => p.Channel).HasMaxLength(PaymentChannel.MaxLength).IsUnicode(false);
            e.Property(p => p.ChannelTransactionId).HasMaxLength(PaymentInstruction.MaxTransactionIdLength).IsUnicode(false);
            // The idempotency key. The index, not a look-up before the insert, is what stops a second posting.
            e.HasIndex(p => new { p.Channel, p.ChannelTransactionId }).IsUnique();
            e.HasOne(p => p.Account).WithMany().HasForeignKey(p => p.LedgerAccountId).OnDelete(DeleteBehavior.Restrict);
            // Reconciliation lists a channel's payments of one day.
            e.HasIndex(p => new { p.Channel, p.PaidAt });
            e.Property(p => p.ReversalReason).HasMaxLength(200);
        });
        modelBuilder.Entity<Allocation>(e =>
        {
            e.HasKey(a => a.Id);
            e.Property(a => a.Source).HasConversion<string>().HasMaxLength(16).IsUnicode(false);
            e.HasOne(a => a.Receivable).WithMany().HasForeignKey(a => a.ReceivableId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne(a => a.Payment).WithMany(p => p.Allocations).HasForeignKey(a => a.PaymentId)
                .OnDelete(DeleteBehavior.Restrict);
            // Not a foreign key: adding one would make SQLite rebuild the table. Reversals look allocations up by it.
            e.HasIndex(a => a.UndoesAllocationId);
        });
        modelBuilder.Entity<WithholdingMandate>(e =>
        {
            e.HasKey(m => m.Id);
            e.Property(m => m.UserNumber).HasMaxLength(10).IsFixedLength().IsUnicode(false);
            // One mandate per account: a new one replaces the old.
            e.HasIndex(m => m.UserNumber).IsUnique();
            e.HasOne<LedgerAccount>().WithMany().HasForeignKey(m => m.LedgerAccountId).OnDelete(DeleteBehavior.Restrict);
            e.Property(m => m.BankCode).HasMaxLength(Withholding.MaxBankCodeLength).IsUnicode(false);
            e.Property(m => m.MandateReference).HasMaxLength(Withholding.MaxReferenceLength);
            e.Property(m => m.AccountHolder).HasMaxLength(Withholding.MaxHolderLength);
            e.Property(m => m.BankAccountMasked).HasMaxLength(BankAccount.MaskedLength).IsUnicode(false);
        });
        modelBuilder.Entity<WithholdingBatch>(e =>
        {
            e.HasKey(b => b.Id);
            e.Property(b => b.BankCode).HasMaxLength(Withholding.MaxBankCodeLength).IsUnicode(false);
        });
        modelBuilder.Entity<WithholdingBatchLine>(e =>
        {
            e.HasKey(l => l.Id);
            e.HasIndex(l => new { l.BatchId, l.Line }).IsUnique();
            e.HasOne<WithholdingBatch>().WithMany(b => b.Lines).HasForeignKey(l => l.BatchId).OnDelete(DeleteBehavior.Cascade);
            e.Property(l => l.UserNumber).HasMaxLength(10).IsFixedLength().IsUnicode(false);
            e.Property(l => l.BankCode).HasMaxLength(Withholding.MaxBankCodeLength).IsUnicode(false);
            e.Property(l => l.MandateReference).HasMaxLength(Withholding.MaxReferenceLength);
            e.Property(l => l.AccountHolder).HasMaxLength(Withholding.MaxHolderLength);
            e.Property(l => l.BankAccountMasked).HasMaxLength(BankAccount.MaskedLength).IsUnicode(false);
            e.Property(l => l.Outcome).HasMaxLength(16).IsUnicode(false);
            e.Property(l => l.Reason).HasMaxLength(200);
        });
    }
}

public sealed class SqlitePaymentsDbContext(DbContextOptions<SqlitePaymentsDbContext> options) : PaymentsDbContext(options);

public sealed class SqlServerPaymentsDbContext(DbContextOptions<SqlServerPaymentsDbContext> options) : PaymentsDbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        // SQL Server compares case-insensitively by default; SQLite and the channels do not: "Ab1" and "aB1"
        // are two transactions.
        modelBuilder.Entity<Payment>().Property(p => p.ChannelTransactionId).UseCollation("Latin1_General_100_BIN2");
    }
}

public sealed class SqlitePaymentsDesignTimeFactory : IDesignTimeDbContextFactory<SqlitePaymentsDbContext>
{
    public SqlitePaymentsDbContext CreateDbContext(string[] args) => new(DesignTime.Sqlite<SqlitePaymentsDbContext>());
}

public sealed class SqlServerPaymentsDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerPaymentsDbContext>
{
    public SqlServerPaymentsDbContext CreateDbContext(string[] args) => new(DesignTime.SqlServer<SqlServerPaymentsDbContext>());
}

/// <summary>
/// An account as the ledger knows it. Credit is money received that no bill needed yet; while an
/// account holds credit it has no open bill (new bills use the credit up as they arrive).
/// </summary>
public sealed class LedgerAccount
{
    public long Id { get; set; }
    public required string UserNumber { get; set; }

    /// <summary>Null while a bill has arrived before the account's <c>AccountOpened</c> (events of two services race).</summary>
    public string? HolderName { get; set; }
    public string? Address { get; set; }
    public DateOnly? OpenedOn { get; set; }
    public long CreditFen { get; set; }
    public long Version { get; set; }
    public DateTime CreatedAt { get; set; }

    public List<Receivable> Receivables { get; } = [];

    /// <summary>Marks a change to the ledger, so a concurrent writer that read the old state fails and retries.</summary>
    public void Touch() => Version++;
}

/// <summary>What one bill asks of an account, and how much of it has been paid.</summary>
public sealed class Receivable
{
    /// <summary>Database-generated: also the order of issue, which breaks ties between bills of one period end.</summary>
    public long Id { get; set; }
    public Guid BillId { get; set; }
    public long LedgerAccountId { get; set; }
    public LedgerAccount Account { get; set; } = null!;
    public Guid RunId { get; set; }
    public DateOnly PeriodStart { get; set; }
    public DateOnly PeriodEnd { get; set; }
    public long VolumeLitres { get; set; }
    public long AmountFen { get; set; }
    public long PaidFen { get; set; }
    public DateOnly DueDate { get; set; }
    public DateTime IssuedAt { get; set; }

    /// <summary>Set when Billing cancelled the bill: it is owed no more, and what had been paid on it became credit.</summary>
    public DateTime? CancelledAt { get; set; }

    /// <summary>What is still owed; a cancelled bill owes nothing.</summary>
    public long OutstandingFen => CancelledAt is null ? AmountFen - PaidFen : 0;
}

/// <summary>
/// A channel's payment, with the answer it was given, so that a repeated notification gets the
/// same answer even after later payments and bills changed the account.
/// </summary>
public sealed class Payment
{
    public Guid Id { get; set; }
    public long LedgerAccountId { get; set; }
    public LedgerAccount Account { get; set; } = null!;
    public required string UserNumber { get; set; }
    public required string Channel { get; set; }
    public required string ChannelTransactionId { get; set; }
    public long AmountFen { get; set; }
    public DateTime PaidAt { get; set; }
    public DateTime ReceivedAt { get; set; }

    /// <summary>The part no bill needed: it went to the account's credit.</summary>
    public long CreditAddedFen { get; set; }

    public long OutstandingAfterFen { get; set; }
    public long CreditAfterFen { get; set; }

    /// <summary>Set once the channel refunded the payment; the rest of the reversal's answer is kept for a repeated request.</summary>
    public DateTime? ReversedAt { get; set; }
    public string? ReversalReason { get; set; }
    public long ReversalCreditTakenFen { get; set; }
    public long ReversalOutstandingAfterFen { get; set; }
    public long ReversalCreditAfterFen { get; set; }

    public List<Allocation> Allocations { get; } = [];
}

public enum AllocationSource
{
    /// <summary>Money of a payment applied as it was posted.</summary>
    Payment,

    /// <summary>The account's credit applied to a bill issued later.</summary>
    Credit,

    /// <summary>A reversal undoing (part of) another allocation; its amount is negative.</summary>
    Reversal,
}

/// <summary>Money applied to one bill, from a payment or from the account's credit.</summary>
public sealed class Allocation
{
    public long Id { get; set; }
    public long ReceivableId { get; set; }
    public Receivable Receivable { get; set; } = null!;
    public AllocationSource Source { get; set; }

    /// <summary>The payment whose money this is; null when the source is credit.</summary>
    public Guid? PaymentId { get; set; }
    public Payment? Payment { get; set; }

    /// <summary>For a reversal: the allocation it undoes (so that the same money is never undone twice).</summary>
    public long? UndoesAllocationId { get; set; }
    public long AmountFen { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>An account's bank withholding mandate (代扣协议). Only the masked bank account is kept.</summary>
public sealed class WithholdingMandate
{
    public long Id { get; set; }
    public long LedgerAccountId { get; set; }
    public required string UserNumber { get; set; }
    public required string BankCode { get; set; }
    public required string MandateReference { get; set; }
    public required string AccountHolder { get; set; }
    public required string BankAccountMasked { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}

/// <summary>A withholding file sent to the bank: what each mandated account owed when it was cut.</summary>
public sealed class WithholdingBatch
{
    public Guid Id { get; set; }
    public string? BankCode { get; set; }
    public DateTime CreatedAt { get; set; }
    public List<WithholdingBatchLine> Lines { get; } = [];
}

public sealed class WithholdingBatchLine
{
    public long Id { get; set; }
    public Guid BatchId { get; set; }
    public int Line { get; set; }
    public required string UserNumber { get; set; }
    public required string BankCode { get; set; }
    public required string MandateReference { get; set; }
    public required string AccountHolder { get; set; }
    public required string BankAccountMasked { get; set; }
    public long AmountFen { get; set; }

    /// <summary>Null until the bank's result arrives: paid or failed.</summary>
    public string? Outcome { get; set; }
    public Guid? PaymentId { get; set; }
    public string? Reason { get; set; }
}
