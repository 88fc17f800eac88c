using Metering.Accounts.Domain;
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

    public DbSet<AccountChange> AccountChanges => Set<AccountChange>();

    public DbSet<HandoverManifest> HandoverManifests => Set<HandoverManifest>();

    public DbSet<HandoverLine> HandoverLines => Set<HandoverLine>();

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
            e.Property(a => a.ClosedReason).HasMaxLength(200);
            // A surveyed household becomes at most one account (SQL Server filters out the NULLs of direct openings).
            e.HasIndex(a => a.HouseholdId).IsUnique();
            // The hotline looks callers up by phone and by name.
            e.HasIndex(a => a.Phone);
            e.HasIndex(a => a.HolderName);
        });
        modelBuilder.Entity<AccountChange>(e =>
        {
            e.HasKey(c => c.Id);
            e.Property(c => c.Kind).HasConversion<string>().HasMaxLength(24);
            e.Property(c => c.Before).HasMaxLength(200);
            e.Property(c => c.After).HasMaxLength(200);
            e.HasOne<Account>().WithMany().HasForeignKey(c => c.AccountId);
            e.HasIndex(c => c.AccountId);
        });
        modelBuilder.Entity<HandoverManifest>(e =>
        {
            e.HasKey(m => m.Id);
            e.Property(m => m.Scope).HasMaxLength(16);
            e.Property(m => m.Recipient).HasMaxLength(100);
            e.HasIndex(m => new { m.Scope, m.ScopeId });
        });
        modelBuilder.Entity<HandoverLine>(e =>
        {
            e.HasKey(l => new { l.ManifestId, l.Position });
            e.Property(l => l.UserNumber).HasMaxLength(10).IsFixedLength();
            e.Property(l => l.HolderName).HasMaxLength(50);
            e.Property(l => l.Address).HasMaxLength(200);
            e.Property(l => l.Phone).HasMaxLength(20);
            e.HasOne<HandoverManifest>().WithMany().HasForeignKey(l => l.ManifestId);
        });
        modelBuilder.Entity<Community>(e =>
        {
            e.HasKey(c => c.Id);
            e.Property(c => c.Name).HasMaxLength(100);
            e.Property(c => c.District).HasMaxLength(50);
            e.Property(c => c.Subdistrict).HasMaxLength(50);
            // A community is named once per district.
            e.HasIndex(c => new { c.District, c.Name }).IsUnique();
            e.Property(c => c.UserNumberPrefix).HasMaxLength(4);
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
            e.Property(h => h.Consent).HasConversion<string>().HasMaxLength(16);
            e.Property(h => h.ConsentSignedBy).HasMaxLength(50);
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
    /// <summary>The surveyed household this account was converted from; null for an account opened directly.</summary>
    public long? HouseholdId { get; set; }
    public DateOnly? ClosedOn { get; set; }
    public string? ClosedReason { get; set; }
}

public enum AccountChangeKind
{
    HolderChanged,
    PhoneChanged,
    PersonsChanged,
    Closed,
}

/// <summary>One entry of an account's history; nothing is ever overwritten without one.</summary>
public sealed class AccountChange
{
    public long Id { get; set; }
    public long AccountId { get; set; }
    public AccountChangeKind Kind { get; set; }
    public DateOnly EffectiveOn { get; set; }
    public string? Before { get; set; }
    public string? After { get; set; }
    public DateTime RecordedAt { get; set; }
}

/// <summary>A handover manifest as it was handed over; a re-issue is a new manifest, so the history stays.</summary>
public sealed class HandoverManifest
{
    public Guid Id { get; set; }
    /// <summary><c>riser</c> or <c>community</c>.</summary>
    public required string Scope { get; set; }
    public long ScopeId { get; set; }
    public required string Recipient { get; set; }
    public DateOnly HandedOverOn { get; set; }
    public int AccountCount { get; set; }
    public DateTime IssuedAt { get; set; }
}

/// <summary>A line of a manifest, copied at issue time: a later change of holder does not rewrite what was handed over.</summary>
public sealed class HandoverLine
{
    public Guid ManifestId { get; set; }
    public int Position { get; set; }
    public required string UserNumber { get; set; }
    public required string HolderName { get; set; }
    public required string Address { get; set; }
    public required string Phone { get; set; }
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
    /// <summary>The user-number prefix of the community's accounts, fixed when it is registered (may follow the district).</summary>
    public string? UserNumberPrefix { get; set; }
}

/// <summary>A supply riser (立厅/单元) of a building: the unit of conversion work.</summary>
public sealed class Riser
{
    public long Id { get; set; }
    public long CommunityId { get; set; }
    public required string Building { get; set; }
    public required string Label { get; set; }
    /// <summary>Set when the riser is converted: the day the works were completed.</summary>
    public DateOnly? ConvertedOn { get; set; }
    /// <summary>The actual conversion cost of the whole riser, once an operator has entered it.</summary>
    public long? ActualCostFen { get; set; }
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
    public ConsentState Consent { get; set; }
    public string? ConsentSignedBy { get; set; }
    public DateOnly? ConsentSignedOn { get; set; }
    public long ResidentFeePaidFen { get; set; }
    public DateOnly? ResidentFeePaidOn { get; set; }
}
