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
        });
        modelBuilder.Entity<Allocation>(e =>
        {
            e.HasKey(a => a.Id);
            e.Property(a => a.Source).HasConversion<string>().HasMaxLength(16).IsUnicode(false);
            e.HasOne(a => a.Receivable).WithMany().HasForeignKey(a => a.ReceivableId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne(a => a.Payment).WithMany(p => p.Allocations).HasForeignKey(a => a.PaymentId)
                .OnDelete(DeleteBehavior.Restrict);
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

    public long OutstandingFen => AmountFen - PaidFen;
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

    public List<Allocation> Allocations { get; } = [];
}

public enum AllocationSource
{
    /// <summary>Money of a payment applied as it was posted.</summary>
    Payment,

    /// <summary>The account's credit applied to a bill issued later.</summary>
    Credit,
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
    public long AmountFen { get; set; }
    public DateTime CreatedAt { get; set; }
}
