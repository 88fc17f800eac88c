using Metering.Hosting.Data;
using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Metering.Accounts.Data;

public class AccountsDbContext(DbContextOptions options) : MessagingDbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();

    public DbSet<UserNumberSequence> UserNumberSequences => Set<UserNumberSequence>();

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
