using System.Globalization;

namespace Metering.Domain;

/// <summary>
/// The one rule for masking a person's name, shared by what channels see (Payments) and by what the
/// audit trail and logs keep (Hosting): 张三明 → 张*明, 张三 → 张*, 欧阳小明 → 欧**明.
/// </summary>
public static class PersonalName
{
    /// <param name="hideSingleCharacter">A one-character name has nothing to keep: channels show it as
    /// it is (the payer recognises nothing less), audit and logs hide it.</param>
    public static string Mask(string? name, bool hideSingleCharacter)
    {
        var text = name?.Trim() ?? "";
        // Text elements, not chars: a rare surname outside the BMP is one character to the reader.
        var letters = new List<string>();
        var elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
            letters.Add(elements.GetTextElement());
        return letters.Count switch
        {
            0 => "",
            1 => hideSingleCharacter ? "*" : text,
            2 => letters[0] + "*",
            _ => letters[0] + new string('*', letters.Count - 2) + letters[^1],
        };
    }
}
