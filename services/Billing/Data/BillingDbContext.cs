using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Metering.Billing.Data;

public class BillingDbContext(DbContextOptions options) : MessagingDbContext(options)
{
    public DbSet<BillingAccount> Accounts => Set<BillingAccount>();

    public DbSet<Consumption> Consumptions => Set<Consumption>();

    public DbSet<YearPosition> YearPositions => Set<YearPosition>();

    public DbSet<BillingRun> Runs => Set<BillingRun>();

    public DbSet<Bill> Bills => Set<Bill>();

    public DbSet<BillLine> BillLines => Set<BillLine>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<BillingAccount>(e =>
        {
            e.HasKey(a => a.UserNumber);
            e.Property(a => a.UserNumber).HasMaxLength(10).IsFixedLength();
        });
        modelBuilder.Entity<Consumption>(e =>
        {
            e.HasKey(c => c.Id);
            e.HasIndex(c => c.ReadingId).IsUnique();
            e.Property(c => c.UserNumber).HasMaxLength(10).IsFixedLength();
            e.Property(c => c.Kind).HasMaxLength(32);
            // The billing run's claim on a row: "UPDATE … WHERE BillId IS NULL", so a row is billed once
            // even if two copies of a run's message race.
            e.Property(c => c.BillId).IsConcurrencyToken();
            // A run looks for unbilled rows by account; an account's statement reads its rows by date.
            e.HasIndex(c => new { c.BillId, c.UserNumber, c.ReadOn });
            e.HasIndex(c => new { c.UserNumber, c.ReadOn });
        });
        modelBuilder.Entity<YearPosition>(e =>
        {
            e.HasKey(p => new { p.UserNumber, p.Year });
            e.Property(p => p.UserNumber).HasMaxLength(10).IsFixedLength();
        });
        modelBuilder.Entity<BillingRun>(e =>
        {
            e.HasKey(r => r.Id);
            e.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(r => r.FailureReason).HasMaxLength(2000);
            // At most one run is PENDING or RUNNING: two operators (or replicas) starting one at once
            // collide here even if both passed the check.
            e.HasIndex(r => r.ActiveSlot).IsUnique().HasFilter("[ActiveSlot] IS NOT NULL");
            e.HasIndex(r => r.CreatedAt);
        });
        modelBuilder.Entity<Bill>(e =>
        {
            e.HasKey(b => b.Id);
            e.Property(b => b.UserNumber).HasMaxLength(10).IsFixedLength();
            e.HasIndex(b => new { b.UserNumber, b.PeriodEnd });
            e.HasIndex(b => b.RunId);
            e.HasMany(b => b.Lines).WithOne().HasForeignKey(l => l.BillId);
        });
        modelBuilder.Entity<BillLine>(e =>
        {
            e.HasKey(l => new { l.BillId, l.LineNumber });
        });
    }
}

public sealed class SqliteBillingDbContext(DbContextOptions<SqliteBillingDbContext> options) : BillingDbContext(options);

public sealed class SqlServerBillingDbContext(DbContextOptions<SqlServerBillingDbContext> options) : BillingDbContext(options);

public sealed class SqliteBillingDesignTimeFactory : IDesignTimeDbContextFactory<SqliteBillingDbContext>
{
    public SqliteBillingDbContext CreateDbContext(string[] args) => new(DesignTime.Sqlite<SqliteBillingDbContext>());
}

public sealed class SqlServerBillingDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerBillingDbContext>
{
    public SqlServerBillingDbContext CreateDbContext(string[] args) => new(DesignTime.SqlServer<SqlServerBillingDbContext>());
}

/// <summary>Billing's projection of an account, from <c>AccountOpened</c>.</summary>
public sealed class BillingAccount
{
    public required string UserNumber { get; set; }

    /// <summary>Registered persons: what a large-household rule raises the tier thresholds by.</summary>
    public int Persons { get; set; }

    public DateOnly OpenedOn { get; set; }

    public long InitialRegisterLitres { get; set; }

    public DateTime ReceivedAt { get; set; }
}

/// <summary>One accepted reading's consumption; unbilled while <see cref="BillId"/> is null.</summary>
public sealed class Consumption
{
    public long Id { get; set; }

    public Guid ReadingId { get; set; }

    public required string UserNumber { get; set; }

    public DateOnly PreviousReadOn { get; set; }

    public long PreviousRegisterLitres { get; set; }

    public DateOnly ReadOn { get; set; }

    public long RegisterLitres { get; set; }

    public long ConsumptionLitres { get; set; }

    public required string Kind { get; set; }

    public DateTime ReceivedAt { get; set; }

    public Guid? BillId { get; set; }
}

/// <summary>The volume billed to an account in a calendar year: its position on the annual tiers.</summary>
public sealed class YearPosition
{
    public required string UserNumber { get; set; }

    public int Year { get; set; }

    public long BilledLitres { get; set; }
}

public enum BillingRunStatus
{
    Pending,
    Running,
    Completed,
    Failed,
}

public sealed class BillingRun
{
    public Guid Id { get; set; }

    public DateOnly CutOff { get; set; }

    public BillingRunStatus Status { get; set; }

    /// <summary>1 while the run is PENDING or RUNNING, null after: a unique index allows one active run.</summary>
    public int? ActiveSlot { get; set; }

    public int AccountsBilled { get; set; }

    public int BillsIssued { get; set; }

    public long TotalFen { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? StartedAt { get; set; }

    public DateTime? CompletedAt { get; set; }

    public string? FailureReason { get; set; }

    public void Finish(BillingRunStatus status, DateTime at, string? failureReason = null)
    {
        Status = status;
        ActiveSlot = null;
        CompletedAt = at;
        FailureReason = failureReason is { Length: > 2000 } ? failureReason[..2000] : failureReason;
    }
}

public sealed class Bill
{
    public Guid Id { get; set; }

    public Guid RunId { get; set; }

    public required string UserNumber { get; set; }

    public DateOnly PeriodStart { get; set; }

    public DateOnly PeriodEnd { get; set; }

    public long PreviousRegisterLitres { get; set; }

    public long CurrentRegisterLitres { get; set; }

    public long VolumeLitres { get; set; }

    /// <summary>Volume billed in the period end's year, this bill included.</summary>
    public long YearToDateLitres { get; set; }

    public long AmountFen { get; set; }

    public DateOnly DueDate { get; set; }

    public required string TariffCode { get; set; }

    public DateTime IssuedAt { get; set; }

    public List<BillLine> Lines { get; set; } = [];
}

public sealed class BillLine
{
    public Guid BillId { get; set; }

    public int LineNumber { get; set; }

    public int Year { get; set; }

    public int Tier { get; set; }

    public long VolumeLitres { get; set; }

    public long PriceFenPerM3 { get; set; }

    public long AmountFen { get; set; }
}
