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

    public DbSet<TariffVersionRow> TariffVersions => Set<TariffVersionRow>();

    public DbSet<HouseholdSizeRow> HouseholdSizes => Set<HouseholdSizeRow>();

    public DbSet<BillingRunChunk> RunChunks => Set<BillingRunChunk>();

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
            // …and a correction landing while a run computes the old value makes the run's claim fail and retry.
            e.Property(c => c.ConsumptionLitres).IsConcurrencyToken();
            // An account's rows by date (statements, corrections, a bill's rows within its account).
            e.HasIndex(c => new { c.UserNumber, c.ReadOn });
            // A run looks for unbilled rows by account. Filtered: a claim only removes its row from this index
            // (no second insert for the billed value), and the index holds only what is still to bill.
            e.HasIndex(c => new { c.UserNumber, c.ReadOn }, "IX_Consumptions_Unbilled").HasFilter("[BillId] IS NULL");
        });
        modelBuilder.Entity<YearPosition>(e =>
        {
            e.HasKey(p => new { p.UserNumber, p.Year });
            e.Property(p => p.UserNumber).HasMaxLength(10).IsFixedLength();
            // A run and a correction moving the same year at once: the second one retries from the new position.
            e.Property(p => p.BilledLitres).IsConcurrencyToken();
        });
        modelBuilder.Entity<HouseholdSizeRow>(e =>
        {
            e.HasKey(h => new { h.UserNumber, h.EffectiveOn });
            e.Property(h => h.UserNumber).HasMaxLength(10).IsFixedLength();
        });
        modelBuilder.Entity<TariffVersionRow>(e =>
        {
            e.HasKey(t => t.Id);
            e.Property(t => t.Id).ValueGeneratedOnAdd();
            e.Property(t => t.Name).HasMaxLength(64);
            e.HasIndex(t => t.Name).IsUnique();
            // Versions may not overlap: one version per start day.
            e.HasIndex(t => t.EffectiveFrom).IsUnique();
            e.HasMany(t => t.Tiers).WithOne().HasForeignKey(t => t.VersionId);
            e.HasData(new TariffVersionRow
            {
                Id = 1,
                Name = "liaocheng-residential",
                EffectiveFrom = new DateOnly(2000, 1, 1),
                CreatedAt = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc),
            });
        });
        modelBuilder.Entity<TariffTierRow>(e =>
        {
            e.HasKey(t => new { t.VersionId, t.Tier });
            e.HasData(
                new TariffTierRow { VersionId = 1, Tier = 1, UpToLitres = 144_000, PriceFenPerM3 = 332 },
                new TariffTierRow { VersionId = 1, Tier = 2, UpToLitres = 240_000, PriceFenPerM3 = 425 },
                new TariffTierRow { VersionId = 1, Tier = 3, UpToLitres = null, PriceFenPerM3 = 702 });
        });
        modelBuilder.Entity<BillingRunChunk>(e =>
        {
            e.HasKey(c => new { c.RunId, c.Number });
            e.Property(c => c.FirstUserNumber).HasMaxLength(10).IsFixedLength();
            e.Property(c => c.LastUserNumber).HasMaxLength(10).IsFixedLength();
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
            e.Property(b => b.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(b => b.TariffCode).HasMaxLength(64);
            e.Property(b => b.CancelReason).HasMaxLength(500);
            e.HasMany(b => b.Lines).WithOne().HasForeignKey(l => l.BillId);
        });
        modelBuilder.Entity<BillLine>(e =>
        {
            e.HasKey(l => new { l.BillId, l.LineNumber });
            e.Property(l => l.TariffName).HasMaxLength(64);
            // No index on Year: the statement reaches lines through the account's bills (primary key prefix), and
            // every index here is one more B-tree insert per line of a billing run.
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

    /// <summary>From AccountClosed: the consumption up to it is still billed, nothing after it is expected.</summary>
    public DateOnly? ClosedOn { get; set; }

    /// <summary>What the account owes per Payments' last PaymentAllocated (negative: credit); null until heard.</summary>
    public long? BalanceFen { get; set; }

    /// <summary>When Payments computed <see cref="BalanceFen"/>: an older PaymentAllocated arriving late is ignored.</summary>
    public DateTime? BalanceAt { get; set; }
}

/// <summary>Registered persons of a household from a day on: what a large-household rule reads.</summary>
public sealed class HouseholdSizeRow
{
    public required string UserNumber { get; set; }

    public DateOnly EffectiveOn { get; set; }

    public int Persons { get; set; }
}

/// <summary>A stored tariff version; see <see cref="Domain.TariffVersion"/>.</summary>
public sealed class TariffVersionRow
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public DateOnly EffectiveFrom { get; set; }

    public int? BaseHouseholdSize { get; set; }

    public long? ExtraLitresPerPerson { get; set; }

    public DateTime CreatedAt { get; set; }

    public List<TariffTierRow> Tiers { get; set; } = [];
}

public sealed class TariffTierRow
{
    public long VersionId { get; set; }

    public int Tier { get; set; }

    public long? UpToLitres { get; set; }

    public long PriceFenPerM3 { get; set; }
}

/// <summary>
/// A slice of a run: the accounts whose user numbers lie in [First, Last]. Each is one work item on the
/// runs queue, taken by whichever Billing replica is free.
/// </summary>
public sealed class BillingRunChunk
{
    public Guid RunId { get; set; }

    public int Number { get; set; }

    public required string FirstUserNumber { get; set; }

    public required string LastUserNumber { get; set; }

    /// <summary>Accounts with unbilled consumption in the range when the run was planned.</summary>
    public int Accounts { get; set; }

    public DateTime? CompletedAt { get; set; }
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

    /// <summary>A trial run computes the bills and totals without issuing anything.</summary>
    public bool IsTrial { get; set; }

    /// <summary>Accounts with unbilled consumption up to the cut-off when the run was planned.</summary>
    public int AccountsTotal { get; set; }

    public int ChunksTotal { get; set; }

    public int ChunksDone { get; set; }

    public int AccountsBilled { get; set; }

    public int BillsIssued { get; set; }

    public long TotalFen { get; set; }

    public long VolumeLitres { get; set; }

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

public enum BillStatus
{
    Issued,
    Cancelled,
}

public sealed class Bill
{
    public Guid Id { get; set; }

    /// <summary>The run that issued the bill; null for a bill issued by a correction.</summary>
    public Guid? RunId { get; set; }

    public BillStatus Status { get; set; }

    public DateTime? CancelledAt { get; set; }

    public string? CancelReason { get; set; }

    /// <summary>The cancelled bill this one replaces (a correction's re-bill).</summary>
    public Guid? ReplacesBillId { get; set; }

    public Guid? ReplacedByBillId { get; set; }

    /// <summary>What the account owed before this bill, per Payments, when known.</summary>
    public long? BalanceBroughtForwardFen { get; set; }

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

    /// <summary>The tariff version whose prices the line charges.</summary>
    public string TariffName { get; set; } = "";
}
