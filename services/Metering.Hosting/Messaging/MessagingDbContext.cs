using Metering.Hosting.Security;
using Microsoft.EntityFrameworkCore;

namespace Metering.Hosting.Messaging;

/// <summary>
/// Base of every service's DbContext: it carries the outbox (events waiting to be published) and the
/// inbox (messages already consumed), so both are written in the same transaction as the state change.
/// </summary>
public abstract class MessagingDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();

    public DbSet<ProcessedMessage> ProcessedMessages => Set<ProcessedMessage>();

    /// <summary>Operators' and admins' changes (issue 8); rows are only added, never updated through the API.</summary>
    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<OutboxMessage>(e =>
        {
            e.ToTable("OutboxMessages");
            e.HasKey(m => m.Id);
            e.Property(m => m.MessageType).HasMaxLength(400);
            e.Property(m => m.Destination).HasMaxLength(400);
            e.Property(m => m.TraceParent).HasMaxLength(100);
            e.Property(m => m.LastError).HasMaxLength(2000);
            e.HasIndex(m => new { m.SentAt, m.Id });
        });
        modelBuilder.Entity<ProcessedMessage>(e =>
        {
            e.ToTable("ProcessedMessages");
            e.HasKey(m => new { m.MessageId, m.Consumer });
            e.Property(m => m.Consumer).HasMaxLength(200);
            e.HasIndex(m => m.ProcessedAt);
        });
        modelBuilder.Entity<AuditEntry>(e =>
        {
            e.ToTable("AuditEntries");
            e.HasKey(a => a.Id);
            e.Property(a => a.KeyId).HasMaxLength(100);
            e.Property(a => a.Role).HasMaxLength(50);
            e.Property(a => a.Rpc).HasMaxLength(200);
            e.Property(a => a.Target).HasMaxLength(200);
            e.HasIndex(a => a.At);
            e.HasIndex(a => a.Target);
        });
    }
}

/// <summary>An event (or command) written with the state change that caused it, published later by the relay.</summary>
public sealed class OutboxMessage
{
    /// <summary>Database-generated, so the relay publishes in the order the rows were written.</summary>
    public long Id { get; set; }

    /// <summary>The MassTransit message id: the same on every re-send, which is what consumers deduplicate on.</summary>
    public Guid MessageId { get; set; }

    /// <summary>"Namespace.Type, Assembly": resolvable without the assembly version.</summary>
    public required string MessageType { get; set; }

    public required string Body { get; set; }

    /// <summary>Null to publish to every subscriber; <c>queue:name</c> to send to one queue.</summary>
    public string? Destination { get; set; }

    /// <summary>W3C traceparent of the request that wrote the row, so one trace follows the event.</summary>
    public string? TraceParent { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? SentAt { get; set; }

    /// <summary>A relay claims rows for a short lease so that replicas do not publish the same rows together.</summary>
    public Guid? LockToken { get; set; }

    public DateTime? LockedUntil { get; set; }

    public int Attempts { get; set; }

    public string? LastError { get; set; }
}

/// <summary>Inbox row: this consumer has had the effect of this message; a redelivery is skipped.</summary>
public sealed class ProcessedMessage
{
    public Guid MessageId { get; set; }

    public required string Consumer { get; set; }

    public DateTime ProcessedAt { get; set; }
}
