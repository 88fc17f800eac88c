using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Metering.Accounts.Data;

public class AccountsDbContext(DbContextOptions options) : MessagingDbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();

    public DbSet<UserNumberSequence> UserNumberSequences => Set<UserNumberSequence>();

    public DbSet<Community> Communities => Set<Community>();

    public DbSet<Riser> Risers => Set<Riser>();

    public DbSet<Household> Households => Set<Household>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<Account>(e =>
        {
            e.HasKey(a => a.Id);
            e.Property(a => a.UserNumber).HasMaxLength(10).IsFixedLength();
            e.HasIndex(a => a.UserNumber).IsUnique();
            e.Property(a => a.HolderName).HasMaxLength(50);
            e.Property(a => a.Address).HasMaxLength(200);
            e.Property(a => a.Phone).HasMaxLength(20);
            e.Property(a => a.MeterSerial).HasMaxLength(32);
            // A meter hangs outside one flat: one serial, one account.
            e.HasIndex(a => a.MeterSerial).IsUnique();
            e.Property(a => a.Status).HasConversion<string>().HasMaxLength(16);
        });
        modelBuilder.Entity<Community>(e =>
        {
            e.HasKey(c => c.Id);
            e.Property(c => c.Name).HasMaxLength(100);
            e.Property(c => c.District).HasMaxLength(50);
            e.Property(c => c.Subdistrict).HasMaxLength(50);
            // A community is named once per district.
            e.HasIndex(c => new { c.District, c.Name }).IsUnique();
        });
        modelBuilder.Entity<Riser>(e =>
        {
            e.HasKey(r => r.Id);
            e.Property(r => r.Building).HasMaxLength(20);
            e.Property(r => r.Label).HasMaxLength(20);
            e.HasOne<Community>().WithMany().HasForeignKey(r => r.CommunityId);
            e.HasIndex(r => new { r.CommunityId, r.Building, r.Label }).IsUnique();
        });
        modelBuilder.Entity<Household>(e =>
        {
            e.HasKey(h => h.Id);
            e.Property(h => h.Unit).HasMaxLength(20);
            e.Property(h => h.HolderName).HasMaxLength(50);
            e.Property(h => h.Phone).HasMaxLength(20);
            e.HasOne<Riser>().WithMany().HasForeignKey(h => h.RiserId);
            // One household per unit of a riser.
            e.HasIndex(h => new { h.RiserId, h.Unit }).IsUnique();
        });
        modelBuilder.Entity<UserNumberSequence>(e =>
        {
            e.HasKey(s => s.Prefix);
            e.Property(s => s.Prefix).HasMaxLength(4);
        });
    }
}

public sealed class SqliteAccountsDbContext(DbContextOptions<SqliteAccountsDbContext> options) : AccountsDbContext(options);

public sealed class SqlServerAccountsDbContext(DbContextOptions<SqlServerAccountsDbContext> options) : AccountsDbContext(options);

public sealed class SqliteAccountsDesignTimeFactory : IDesignTimeDbContextFactory<SqliteAccountsDbContext>
{
    public SqliteAccountsDbContext CreateDbContext(string[] args) => new(DesignTime.Sqlite<SqliteAccountsDbContext>());
}

public sealed class SqlServerAccountsDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerAccountsDbContext>
{
    public SqlServerAccountsDbContext CreateDbContext(string[] args) => new(DesignTime.SqlServer<SqlServerAccountsDbContext>());
}

public enum AccountStatus
{
    Open,
    Closed,
}

public sealed class Account
{
    public long Id { get; set; }
    public required string UserNumber { get; set; }
    public required string HolderName { get; set; }
    public required string Address { get; set; }
    public required string Phone { get; set; }
    public int Persons { get; set; }
    public required string MeterSerial { get; set; }
    public long InitialRegisterLitres { get; set; }
    public DateOnly OpenedOn { get; set; }
    public AccountStatus Status { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>The last serial issued under a prefix. It only grows, so a number is never issued twice.</summary>
public sealed class UserNumberSequence
{
    public required string Prefix { get; set; }
    public long LastSerial { get; set; }
}

/// <summary>A community admitted to the conversion programme (it passed the eligibility rule).</summary>
public sealed class Community
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public required string District { get; set; }
    public required string Subdistrict { get; set; }
    public DateOnly CompletedOn { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>A supply riser (立厅/单元) of a building: the unit of conversion work.</summary>
public sealed class Riser
{
    public long Id { get; set; }
    public long CommunityId { get; set; }
    public required string Building { get; set; }
    public required string Label { get; set; }
}

/// <summary>A residential household on a riser, as surveyed.</summary>
public sealed class Household
{
    public long Id { get; set; }
    public long RiserId { get; set; }
    public required string Unit { get; set; }
    public required string HolderName { get; set; }
    public required string Phone { get; set; }
    public int Persons { get; set; }
}
