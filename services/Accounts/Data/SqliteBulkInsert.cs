using Metering.Hosting.Data;
using Microsoft.EntityFrameworkCore;

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
        await using var command = db.CreateCommandInTransaction(
            """
            INSERT INTO "Households" ("RiserId", "Unit", "HolderName", "Phone", "Persons", "Consent", "ResidentFeePaidFen")
            VALUES ($riser, $unit, $holder, $phone, $persons, $consent, 0) RETURNING "Id"
            """);
        var riser = command.AddParameter("$riser");
        var unit = command.AddParameter("$unit");
        var holder = command.AddParameter("$holder");
        var phone = command.AddParameter("$phone");
        var persons = command.AddParameter("$persons");
        var consent = command.AddParameter("$consent");
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
        await using var command = db.CreateCommandInTransaction(
            """
            INSERT INTO "Accounts" ("UserNumber", "HolderName", "Address", "Phone", "Persons", "MeterSerial",
                "InitialRegisterLitres", "OpenedOn", "Status", "CreatedAt", "HouseholdId")
            VALUES ($number, $holder, $address, $phone, $persons, $serial, $register, $opened, $status, $created, $household)
            RETURNING "Id"
            """);
        var number = command.AddParameter("$number");
        var holder = command.AddParameter("$holder");
        var address = command.AddParameter("$address");
        var phone = command.AddParameter("$phone");
        var persons = command.AddParameter("$persons");
        var serial = command.AddParameter("$serial");
        var register = command.AddParameter("$register");
        var opened = command.AddParameter("$opened");
        var status = command.AddParameter("$status");
        var created = command.AddParameter("$created");
        var household = command.AddParameter("$household");
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
}
