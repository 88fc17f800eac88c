using Metering.Hosting.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Metering.Platform.Tests;

/// <summary>A service's DbContext in miniature: one piece of state, the effects of consumers, the outbox and the inbox.</summary>
public sealed class TestDb(DbContextOptions<TestDb> options) : MessagingDbContext(options)
{
    public DbSet<Widget> Widgets => Set<Widget>();

    public DbSet<Effect> Effects => Set<Effect>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<Widget>(e =>
        {
            e.HasKey(w => w.Id);
            e.Property(w => w.Name).HasMaxLength(100);
        });
        modelBuilder.Entity<Effect>(e =>
        {
            e.HasKey(x => x.Id);
            e.Property(x => x.Key).HasMaxLength(100);
            e.Property(x => x.Consumer).HasMaxLength(100);
        });
    }
}

public sealed class Widget
{
    public long Id { get; set; }

    public required string Name { get; set; }
}

/// <summary>One row per effect a consumer had: the thing that must happen once per message.</summary>
public sealed class Effect
{
    public long Id { get; set; }

    public required string Key { get; set; }

    public required string Consumer { get; set; }

    public Guid MessageId { get; set; }
}

/// <summary>The event a state change causes.</summary>
public sealed record WidgetCreated(string Name, int Sequence);

/// <summary>A work item sent to one queue rather than published.</summary>
public sealed record WidgetWork(string Name);

/// <summary>
/// A message for the inbox tests. <paramref name="FailAttempts"/> makes the consumer fail that many
/// times after making its changes; <paramref name="HandleDelayMs"/> keeps it busy so that copies overlap.
/// </summary>
public sealed record Poke(string Key, int FailAttempts = 0, int HandleDelayMs = 0);
