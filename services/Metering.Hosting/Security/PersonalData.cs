using System.Text.RegularExpressions;
using Google.Protobuf;
using Metering.Domain;
using Google.Protobuf.Reflection;

namespace Metering.Hosting.Security;

/// <summary>
/// Masking of personal data wherever it leaves the service's own tables: audit records, logs.
/// Phones keep their first three and last four digits, names their first and last character.
/// </summary>
public static partial class PersonalData
{
    /// <summary>13812345678 → 138****5678; anything too short to recognise becomes ****.</summary>
    public static string Phone(string? phone)
    {
        var text = phone?.Trim() ?? "";
        if (text.Length == 0)
            return "";
        return text.Length >= 8 ? text[..3] + new string('*', text.Length - 7) + text[^4..] : "****";
    }

    /// <summary>张三明 → 张*明, 张三 → 张*.</summary>
    public static string Name(string? name) => PersonalName.Mask(name, hideSingleCharacter: true);

    /// <summary>Only the first part of an address (the community or district).</summary>
    public static string Address(string? address)
    {
        var parts = (address ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length switch { 0 => "", 1 => parts[0].Length > 4 ? parts[0][..4] + "…" : parts[0], _ => parts[0] + " …" };
    }

    /// <summary>Mobile numbers inside free text (log messages, error texts), masked.</summary>
    public static string MaskPhonesIn(string text) => MobileNumber().Replace(text, m => Phone(m.Value));

    [GeneratedRegex(@"(?<!\d)1[3-9]\d{9}(?!\d)")]
    private static partial Regex MobileNumber();

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    /// <summary>
    /// A protobuf message as JSON with its personal fields masked and bulk text (CSV files) replaced
    /// by its size, for the audit trail.
    /// </summary>
    public static string MaskedJson(IMessage message)
    {
        var copy = message.Descriptor.Parser.ParseFrom(message.ToByteString());
        Mask(copy);
        return Json.Format(copy);
    }

    private static void Mask(IMessage message)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var value = field.Accessor.GetValue(message);
            if (value is null)
                continue;
            if (field.FieldType == FieldType.Message)
            {
                if (field.IsRepeated)
                    foreach (var item in (System.Collections.IEnumerable)value)
                    {
                        if (item is IMessage child)
                            Mask(child);
                    }
                else if (!field.IsMap && value is IMessage child)
                    Mask(child);
                continue;
            }
            if (field.FieldType != FieldType.String || field.IsRepeated || field.IsMap)
                continue;
            var masked = MaskField(field.Name, (string)value);
            if (!ReferenceEquals(masked, value))
                field.Accessor.SetValue(message, masked);
        }
    }

    private static string MaskField(string name, string value)
    {
        if (value.Length == 0)
            return value;
        if (name.Contains("phone", StringComparison.Ordinal))
            return Phone(value);
        if (name is "holder_name" or "account_holder" or "resident_name" or "contact_name")
            return Name(value);
        if (name == "address")
            return Address(value);
        if (name.Contains("bank_account", StringComparison.Ordinal) && !name.Contains("masked", StringComparison.Ordinal))
            return value.Length > 4 ? new string('*', value.Length - 4) + value[^4..] : "****";
        if (name is "csv" or "content" or "file" || value.Length > 2000)
            return $"({value.Length} characters)";
        return value;
    }

    /// <summary>What a request is about, for the audit trail: its user number or first id field.</summary>
    public static string? Target(IMessage message)
    {
        var fields = message.Descriptor.Fields.InDeclarationOrder()
            .Where(f => f.FieldType == FieldType.String && !f.IsRepeated).ToList();
        var field = fields.FirstOrDefault(f => f.Name == "user_number")
            ?? fields.FirstOrDefault(f => f.Name == "id" || f.Name.EndsWith("_id", StringComparison.Ordinal));
        var value = field?.Accessor.GetValue(message) as string;
        return string.IsNullOrEmpty(value) ? null : $"{field!.Name}={value}";
    }
}
