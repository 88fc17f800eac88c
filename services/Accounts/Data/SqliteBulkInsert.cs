using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Metering.Accounts.Data;

/// <summary>
/// Bulk inserts for the survey import and the conversion (outbox rows: <see cref="Metering.Hosting.Messaging.OutboxBulkWrite"/>). On SQLite, EF Core's batched INSERTs make SQLite
/// parse every statement of every batch anew, which costs far more than the write itself; one prepared
/// INSERT executed per row inside the caller's transaction is several times faster. SQL Server batches well,
/// so there the rows simply go through EF Core.
/// </summary>
internal static class SqliteBulkInsert
{
    public static async Task HouseholdsAsync(AccountsDbContext db, IReadOnlyList<Household> households, CancellationToken ct)
    {
        if (!db.Database.IsSqlite())
        {
            db.Households.AddRange(households);
            await db.SaveChangesAsync(ct);
            return;
        }
        await using var command = Command(db,
            """
            INSERT INTO "Households" ("RiserId", "Unit", "HolderName", "Phone", "Persons", "Consent", "ResidentFeePaidFen")
            VALUES ($riser, $unit, $holder, $phone, $persons, $consent, 0) RETURNING "Id"
            """);
        var riser = Parameter(command, "$riser");
        var unit = Parameter(command, "$unit");
        var holder = Parameter(command, "$holder");
        var phone = Parameter(command, "$phone");
        var persons = Parameter(command, "$persons");
        var consent = Parameter(command, "$consent");
        await command.PrepareAsync(ct);
        foreach (var h in households)
        {
            riser.Value = h.RiserId;
            unit.Value = h.Unit;
            holder.Value = h.HolderName;
            phone.Value = h.Phone;
            persons.Value = h.Persons;
            consent.Value = h.Consent.ToString();
            h.Id = (long)(await command.ExecuteScalarAsync(ct))!;
        }
    }

    public static async Task AccountsAsync(AccountsDbContext db, IReadOnlyList<Account> accounts, CancellationToken ct)
    {
        if (!db.Database.IsSqlite())
        {
            db.Accounts.AddRange(accounts);
            return; // saved with the outbox rows by the caller's SaveChanges
        }
        await using var command = Command(db,
            """
            INSERT INTO "Accounts" ("UserNumber", "HolderName", "Address", "Phone", "Persons", "MeterSerial",
                "InitialRegisterLitres", "OpenedOn", "Status", "CreatedAt", "HouseholdId")
            VALUES ($number, $holder, $address, $phone, $persons, $serial, $register, $opened, $status, $created, $household)
            RETURNING "Id"
            """);
        var number = Parameter(command, "$number");
        var holder = Parameter(command, "$holder");
        var address = Parameter(command, "$address");
        var phone = Parameter(command, "$phone");
        var persons = Parameter(command, "$persons");
        var serial = Parameter(command, "$serial");
        var register = Parameter(command, "$register");
        var opened = Parameter(command, "$opened");
        var status = Parameter(command, "$status");
        var created = Parameter(command, "$created");
        var household = Parameter(command, "$household");
        await command.PrepareAsync(ct);
        foreach (var a in accounts)
        {
            number.Value = a.UserNumber;
            holder.Value = a.HolderName;
            address.Value = a.Address;
            phone.Value = a.Phone;
            persons.Value = a.Persons;
            serial.Value = a.MeterSerial;
            register.Value = a.InitialRegisterLitres;
            opened.Value = a.OpenedOn;
            status.Value = a.Status.ToString();
            created.Value = a.CreatedAt;
            household.Value = (object?)a.HouseholdId ?? DBNull.Value;
            a.Id = (long)(await command.ExecuteScalarAsync(ct))!;
        }
    }

    private static DbCommand Command(AccountsDbContext db, string sql)
    {
        var transaction = db.Database.CurrentTransaction
            ?? throw new InvalidOperationException("bulk inserts run inside the caller's transaction");
        var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = transaction.GetDbTransaction();
        command.CommandText = sql;
        return command;
    }

    private static DbParameter Parameter(DbCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
