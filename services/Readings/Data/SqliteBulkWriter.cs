using System.Globalization;
using System.Text;
using Metering.Hosting.Data;
using Metering.Readings.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using SQLitePCL;

namespace Metering.Readings.Data;

/// <summary>
/// Writes a bulk chunk's readings and chain heads on SQLite inside the chunk's transaction, through statements
/// prepared once per chunk on the connection's own SQLite handle (<see cref="SqliteRawStatement"/>) that take
/// <see cref="RowsPerStatement"/> rows each, values bound by position as UTF-8 from stack buffers. The chunk used to go
/// to SQLite as one JSON array unpacked by <c>json_each</c>: writing the JSON in .NET and extracting every column from
/// it again in SQLite cost more than the inserts themselves. EF Core's SQLite provider sends one command per row through
/// its whole update pipeline. Values are written the way EF Core stores them (Guid as upper-case text, DateOnly
/// <c>yyyy-MM-dd</c>, enums by name), so EF reads them back unchanged. SQL Server keeps EF Core's own batching.
/// </summary>
internal static class SqliteBulkWriter
{
    /// <summary>Rows bound into one statement: a step, a reset and the statement's cursors per row cost more than the binding.</summary>
    internal const int RowsPerStatement = 32;

    private const int ReadingColumns = 13;
    private const int HeadColumns = 3;
    private const int GuidLength = 36;
    private const int DateLength = 10;

    /// <summary>
    /// Settings for a connection that loads or writes bulk chunks, before its transaction begins. A statement that writes
    /// many rows keeps a journal of the pages it changes, so that a failed statement can be undone alone; SQLite writes it
    /// to a temporary file once it passes 64 KiB, which a chunk's inserts into six B-trees always do (half of SQLite's
    /// time for them went to those writes): <c>temp_store = MEMORY</c> keeps it in memory. A larger page cache (32 MiB
    /// instead of 2) holds the index pages that a chunk's thousands of accounts touch, instead of reading them again
    /// from the file (and spilling dirty ones early) for every statement. Both stay with the pooled connection.
    /// </summary>
    public static void PrepareConnection(ReadingsDbContext db)
    {
        using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;";
        command.ExecuteNonQuery();
    }

    public static Task WriteAsync(ReadingsDbContext db, IEnumerable<LoadedChain> chains, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (db.Database.CurrentTransaction is null)
            throw new InvalidOperationException("bulk writes run inside the chunk's transaction");
        var handle = ((SqliteConnection)db.Database.GetDbConnection()).Handle
            ?? throw new InvalidOperationException("the chunk's connection is not open");

        var written = chains.Where(c => c.Chain.Added.Count > 0).ToList();
        if (written.Count == 0)
            return Task.CompletedTask;

        // The heads first: if another writer moved one of these chains meanwhile, the chunk is measured again before
        // any of its rows could collide with that writer's on (account, sequence).
        using (var moveHeads = new RowStatement(handle, HeadColumns, written.Count, rows => $"""
            UPDATE "Accounts" SET "LastReadingSequence" = v.column2 FROM (VALUES {rows}) AS v
            WHERE "Accounts"."Id" = v.column1 AND "Accounts"."LastReadingSequence" = v.column3
            """))
        {
            var moved = 0;
            foreach (var loaded in written)
            {
                // [account, new head, head as loaded]: the head moves only if no other writer moved it meanwhile.
                var o = moveHeads.Offset;
                moveHeads.Statement.Bind(o + 1, loaded.Account.Id);
                moveHeads.Statement.Bind(o + 2, loaded.Chain.Head.Sequence);
                moveHeads.Statement.Bind(o + 3, loaded.Account.LastReadingSequence);
                moved += moveHeads.EndRow();
            }
            moved += moveHeads.Flush();
            if (moved != written.Count)
                throw new DbUpdateConcurrencyException($"{written.Count - moved} of the chunk's accounts got other readings during the bulk load");
        }

        Span<byte> recordedAt = stackalloc byte[32];
        recordedAt = recordedAt[..Encoding.ASCII.GetBytes(
            now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture), recordedAt)];
        Span<byte> id = stackalloc byte[GuidLength];
        Span<byte> readOn = stackalloc byte[DateLength];
        Span<byte> previousOn = stackalloc byte[DateLength];
        using var insert = new RowStatement(handle, ReadingColumns, written.Sum(c => c.Chain.Added.Count), rows => $"""
            INSERT INTO "Readings" ("Id", "AccountId", "MeterId", "Sequence", "ReadOn", "RegisterLitres", "Kind", "Status",
                "ConsumptionLitres", "PreviousReadOn", "PreviousRegisterLitres", "RecordedAt", "HoldReason")
            SELECT * FROM (VALUES {rows}) WHERE column1 IS NOT NULL
            """);
        var s = insert.Statement;
        foreach (var loaded in written)
        {
            foreach (var r in loaded.Chain.Added)
            {
                var o = insert.Offset;
                s.Bind(o + 1, FormatGuid(r.Id, id));
                s.Bind(o + 2, loaded.Account.Id);
                s.Bind(o + 3, loaded.Meter.Id);
                s.Bind(o + 4, r.Sequence);
                s.Bind(o + 5, FormatDate(r.ReadOn, readOn));
                s.Bind(o + 6, r.RegisterLitres);
                s.Bind(o + 7, KindText(r.Kind));
                s.Bind(o + 8, r.Status == ReadingStatus.Held ? "Held"u8 : "Accepted"u8);
                s.Bind(o + 9, r.ConsumptionLitres);
                if (r.PreviousReadOn is { } on)
                    s.Bind(o + 10, FormatDate(on, previousOn));
                else
                    s.Bind(o + 10, (byte[]?)null);
                s.Bind(o + 11, r.PreviousRegisterLitres);
                s.Bind(o + 12, recordedAt);
                s.Bind(o + 13, r.HoldReason);
                insert.EndRow();
            }
        }
        insert.Flush();
        return Task.CompletedTask;
    }

    private static ReadOnlySpan<byte> KindText(ReadingKind kind) => kind switch
    {
        ReadingKind.Actual => "Actual"u8,
        ReadingKind.Estimated => "Estimated"u8,
        ReadingKind.Initial => "Initial"u8,
        _ => "Final"u8,
    };

    /// <summary>A Guid as EF Core's SQLite provider stores it: upper-case text.</summary>
    private static ReadOnlySpan<byte> FormatGuid(Guid value, Span<byte> destination)
    {
        if (!value.TryFormat(destination, out var written) || written != GuidLength)
            throw new InvalidOperationException("a GUID did not format to 36 characters");
        for (var i = 0; i < GuidLength; i++)
            if (destination[i] is >= (byte)'a' and <= (byte)'f')
                destination[i] -= 'a' - 'A';
        return destination;
    }

    private static ReadOnlySpan<byte> FormatDate(DateOnly value, Span<byte> destination) =>
        value.TryFormat(destination, out var written, "yyyy-MM-dd", CultureInfo.InvariantCulture) && written == DateLength
            ? destination
            : throw new InvalidOperationException($"the date {value} did not format");

    /// <summary>
    /// One prepared statement for up to <see cref="RowsPerStatement"/> rows of <c>columns</c> values each: a row's values are
    /// bound from <see cref="Offset"/> + 1, <see cref="EndRow"/> runs the statement once it holds all its rows,
    /// <see cref="Flush"/> the rest with the unused rows' first column bound NULL, which matches and inserts nothing.
    /// Both answer the rows the statement changed.
    /// </summary>
    private sealed class RowStatement : IDisposable
    {
        private readonly int _columns;
        private readonly int _rowsPerStatement;
        private int _pending;

        /// <param name="rows">How many rows will be bound: a single reading's write (the group commit's fallback) needs no
        /// statement of 32 rows.</param>
        public RowStatement(sqlite3 handle, int columns, int rows, Func<string, string> sql)
        {
            _columns = columns;
            _rowsPerStatement = Math.Clamp(rows, 1, RowsPerStatement);
            var values = string.Join(", ", Enumerable.Range(0, _rowsPerStatement).Select(r =>
                "(" + string.Join(", ", Enumerable.Range(r * columns + 1, columns).Select(i => $"?{i}")) + ")"));
            Statement = new SqliteRawStatement(handle, sql(values));
        }

        public SqliteRawStatement Statement { get; }

        public int Offset => _pending * _columns;

        public int EndRow() => ++_pending == _rowsPerStatement ? Run() : 0;

        public int Flush()
        {
            if (_pending == 0)
                return 0;
            for (var row = _pending; row < _rowsPerStatement; row++)
                Statement.Bind(row * _columns + 1, (byte[]?)null);
            return Run();
        }

        private int Run()
        {
            _pending = 0;
            return Statement.Execute();
        }

        public void Dispose() => Statement.Dispose();
    }
}
