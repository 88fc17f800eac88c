using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Metering.Hosting.Security;
using Metering.Readings.Domain;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Metering.Readings.Data;

public class ReadingsDbContext(DbContextOptions options) : MessagingDbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();

    public DbSet<Meter> Meters => Set<Meter>();

    public DbSet<Reading> Readings => Set<Reading>();

    public DbSet<ReadingCorrection> Corrections => Set<ReadingCorrection>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<Account>(e =>
        {
            e.HasKey(a => a.Id);
            e.Property(a => a.UserNumber).HasMaxLength(10).IsFixedLength();
            e.HasIndex(a => a.UserNumber).IsUnique();
            e.Property(a => a.Status).HasConversion<string>().HasMaxLength(16);
            // Every reading moves the chain head; two readings measured from the same head cannot both commit.
            e.Property(a => a.LastReadingSequence).IsConcurrencyToken();
            e.HasMany(a => a.Meters).WithOne().HasForeignKey(m => m.AccountId);
        });
        modelBuilder.Entity<Meter>(e =>
        {
            e.HasKey(m => m.Id);
            e.Property(m => m.Serial).HasMaxLength(32);
            // Meter-data systems and reading routes name meters by serial.
            e.HasIndex(m => m.Serial);
        });
        modelBuilder.Entity<Reading>(e =>
        {
            e.HasKey(r => r.Id);
            e.Property(r => r.Id).ValueGeneratedNever();
            e.HasOne<Account>().WithMany().HasForeignKey(r => r.AccountId);
            e.HasOne<Meter>().WithMany().HasForeignKey(r => r.MeterId).OnDelete(DeleteBehavior.NoAction);
            // The chain of an account's readings: the last guard behind the concurrency token.
            e.HasIndex(r => new { r.AccountId, r.Sequence }).IsUnique();
            // An account's readings by date, with what the 12-month average and the loaders' filters read: loading a
            // chunk's chains sums and picks them from the index alone instead of looking up each reading's row.
            e.HasIndex(r => new { r.AccountId, r.ReadOn, r.Sequence, r.Kind, r.Status, r.ConsumptionLitres, r.PreviousReadOn })
                .HasDatabaseName("IX_Readings_AccountId_ReadOn_Usage");
            e.Property(r => r.Kind).HasConversion<string>().HasMaxLength(16);
            e.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(r => r.HoldReason).HasMaxLength(300);
            // Operators list the held readings, oldest first: only held readings are indexed (a full Status index cost
            // every inserted reading one more index entry to serve a list of a few).
            e.HasIndex(r => new { r.RecordedAt, r.Id }).HasDatabaseName("IX_Readings_Held").HasFilter("\"Status\" = 'Held'");
        });
        modelBuilder.Entity<ReadingCorrection>(e =>
        {
            e.HasKey(c => c.Id);
            e.Property(c => c.Reason).HasMaxLength(500);
            e.HasOne<Reading>().WithMany().HasForeignKey(c => c.ReadingId);
            e.HasIndex(c => c.AccountId);
        });
    }
}

/// <param name="gate">The service's writer queue (from DI; absent at design time and in tests that build the context by hand).</param>
public sealed class SqliteReadingsDbContext(DbContextOptions<SqliteReadingsDbContext> options, WriteGate? gate = null)
    : ReadingsDbContext(options)
{
    /// <summary>
    /// Audit rows saved in a context of their own (the audit trail's path when the group commit does not take them,
    /// see <see cref="ReadingAuditQueue"/>) queue behind the service's other writers instead of contending with them
    /// for SQLite's write lock.
    /// </summary>
    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        if (gate is null || Database.CurrentTransaction is not null || !OnlyAuditRowsAdded())
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        using (await gate.EnterAsync(this, cancellationToken))
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    /// <summary>Whether added audit rows are the only change.</summary>
    private bool OnlyAuditRowsAdded()
    {
        var any = false;
        foreach (var entry in ChangeTracker.Entries())
        {
            if (entry.State == EntityState.Unchanged)
                continue;
            if (entry.Entity is not AuditEntry || entry.State != EntityState.Added)
                return false;
            any = true;
        }
        return any;
    }
}

public sealed class SqlServerReadingsDbContext(DbContextOptions<SqlServerReadingsDbContext> options) : ReadingsDbContext(options);

public sealed class SqliteReadingsDesignTimeFactory : IDesignTimeDbContextFactory<SqliteReadingsDbContext>
{
    public SqliteReadingsDbContext CreateDbContext(string[] args) => new(DesignTime.Sqlite<SqliteReadingsDbContext>());
}

public sealed class SqlServerReadingsDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerReadingsDbContext>
{
    public SqlServerReadingsDbContext CreateDbContext(string[] args) => new(DesignTime.SqlServer<SqlServerReadingsDbContext>());
}

public enum AccountStatus
{
    Open,
    Closed,
}

/// <summary>Readings' own view of an account, projected from <c>AccountOpened</c>.</summary>
public sealed class Account
{
    public long Id { get; set; }
    public required string UserNumber { get; set; }
    public AccountStatus Status { get; set; }
    public DateOnly OpenedOn { get; set; }
    public DateTime CreatedAt { get; set; }

    /// <summary>From <c>AccountClosed</c>: readings dated after it are refused.</summary>
    public DateOnly? ClosedOn { get; set; }

    /// <summary><see cref="Reading.Sequence"/> of the reading the next one is measured from.</summary>
    public int LastReadingSequence { get; set; }

    public List<Meter> Meters { get; set; } = [];
}

/// <summary>A meter installed for an account. A replacement removes one and installs the next.</summary>
public sealed class Meter
{
    public long Id { get; set; }
    public long AccountId { get; set; }
    public required string Serial { get; set; }
    public long CapacityLitres { get; set; }
    public long InitialRegisterLitres { get; set; }
    public DateOnly InstalledOn { get; set; }
    public DateOnly? RemovedOn { get; set; }

    public MeterRegister Register => new(CapacityLitres);
}

/// <summary>
/// A register value at a date. Each reading keeps what it was measured from, so its answer (and its
/// event) can be given again word for word when the same reading is sent twice.
/// </summary>
public sealed class Reading
{
    public Guid Id { get; set; }
    public long AccountId { get; set; }
    public long MeterId { get; set; }

    /// <summary>1 for the initial reading, then one more per reading in the account's chain.</summary>
    public int Sequence { get; set; }

    public DateOnly ReadOn { get; set; }
    public long RegisterLitres { get; set; }
    public ReadingKind Kind { get; set; }
    public ReadingStatus Status { get; set; }
    public long ConsumptionLitres { get; set; }

    /// <summary>Null only for a meter's initial reading.</summary>
    public DateOnly? PreviousReadOn { get; set; }

    public long? PreviousRegisterLitres { get; set; }
    public DateTime RecordedAt { get; set; }

    /// <summary>Why the reading is (or was) held for review.</summary>
    public string? HoldReason { get; set; }

    public DateTime? ReleasedAt { get; set; }

    /// <summary>Last time an operator corrected its register value.</summary>
    public DateTime? CorrectedAt { get; set; }
}

/// <summary>An operator's correction of a reading's register value, kept for the account's history.</summary>
public sealed class ReadingCorrection
{
    public long Id { get; set; }
    public Guid ReadingId { get; set; }
    public long AccountId { get; set; }
    public long OldRegisterLitres { get; set; }
    public long NewRegisterLitres { get; set; }
    public long OldConsumptionLitres { get; set; }
    public long NewConsumptionLitres { get; set; }
    public required string Reason { get; set; }
    public DateTime CorrectedAt { get; set; }
}
