using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Metering.Hosting.Data;

/// <summary>
/// A statement prepared once on a connection's raw SQLite handle and run for many rows: values bound by
/// position, text bound from UTF-8 bytes. <c>SqliteCommand</c> looks every parameter up by name, converts each
/// string and builds a data reader on every execution, which costs more than SQLite's own work for a small row;
/// the bulk writers (Billing's run, Payments' bills) use this instead. The statement runs in whatever
/// transaction the connection has open, and is reset after every run, so that a failed statement does not
/// stay active in that transaction.
/// </summary>
public sealed class SqliteRawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public SqliteRawStatement(sqlite3 db, string sql)
    {
        _db = db;
        Check(raw.sqlite3_prepare_v2(db, sql, out _statement));
    }

    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    public void Bind(int index, long? value) =>
        Check(value is { } v ? raw.sqlite3_bind_int64(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    /// <summary>Binds UTF-8 text (SQLite copies it); empty text as the empty string, since an empty span binds NULL.</summary>
    public void Bind(int index, ReadOnlySpan<byte> utf8) =>
        Check(utf8.IsEmpty ? raw.sqlite3_bind_text(_statement, index, "") : raw.sqlite3_bind_text(_statement, index, utf8));

    /// <summary>Binds UTF-8 text, or NULL for a null array.</summary>
    public void Bind(int index, byte[]? utf8)
    {
        if (utf8 is null)
            Check(raw.sqlite3_bind_null(_statement, index));
        else
            Bind(index, utf8.AsSpan());
    }

    public void Bind(int index, string? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_statement, index) : raw.sqlite3_bind_text(_statement, index, value));

    /// <summary>Runs the statement to its end; answers the rows it changed.</summary>
    public int Execute()
    {
        try
        {
            StepToEnd(raw.sqlite3_step(_statement));
            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Runs the statement to its end; answers the first column of its first row, or null when it gave none.</summary>
    public long? ExecuteScalar()
    {
        try
        {
            var rc = raw.sqlite3_step(_statement);
            if (rc == raw.SQLITE_DONE)
                return null;
            if (rc != raw.SQLITE_ROW)
                SqliteException.ThrowExceptionForRC(rc, _db);
            var value = raw.sqlite3_column_int64(_statement, 0);
            // A write's RETURNING rows are all made by the first step; stepping on only finishes the statement.
            StepToEnd(raw.sqlite3_step(_statement));
            return value;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Runs the statement to its end; adds the first two columns of every row it gave to <paramref name="rows"/>.</summary>
    public void ReadPairs(List<(long First, long Second)> rows)
    {
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW)
                rows.Add((raw.sqlite3_column_int64(_statement, 0), raw.sqlite3_column_int64(_statement, 1)));
            if (rc != raw.SQLITE_DONE)
                SqliteException.ThrowExceptionForRC(rc, _db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void StepToEnd(int rc)
    {
        while (rc == raw.SQLITE_ROW)
            rc = raw.sqlite3_step(_statement);
        if (rc != raw.SQLITE_DONE)
            SqliteException.ThrowExceptionForRC(rc, _db);
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
            SqliteException.ThrowExceptionForRC(rc, _db);
    }
}
