using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Metering.Deployment.Tests;

/// <summary>
/// YAML read into plain dictionaries, lists and strings, with merge keys (<c>&lt;&lt;: *anchor</c>) applied
/// as docker-compose applies them.
/// </summary>
internal static class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    public static Node Load(string path) => LoadAll(path).Single();

    public static IReadOnlyList<Node> LoadAll(string path)
    {
        using var reader = new StringReader(File.ReadAllText(path));
        var parser = new MergingParser(new Parser(reader));
        parser.Consume<StreamStart>();
        var documents = new List<Node>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var value = Deserializer.Deserialize<object?>(parser);
            if (value is not null) // an empty document, e.g. after a trailing ---
                documents.Add(new Node(value, Path.GetFileName(path)));
        }
        return documents;
    }
}

/// <summary>A position in a YAML tree that says where it is when something is missing.</summary>
internal sealed class Node(object? value, string path)
{
    public object? Value => value;

    public string Path => path;

    public bool Has(string key) => value is IDictionary<object, object?> map && map.ContainsKey(key);

    public Node this[string key]
    {
        get
        {
            var map = value as IDictionary<object, object?>
                ?? throw new Xunit.Sdk.XunitException($"{path} is not a mapping");
            return map.TryGetValue(key, out var child)
                ? new Node(child, $"{path}.{key}")
                : throw new Xunit.Sdk.XunitException($"{path} has no '{key}'");
        }
    }

    public Node? Get(string key) => Has(key) ? this[key] : null;

    public IEnumerable<string> Keys => value is IDictionary<object, object?> map
        ? map.Keys.Select(k => k.ToString()!)
        : throw new Xunit.Sdk.XunitException($"{path} is not a mapping");

    public IReadOnlyList<Node> Items => value is IList<object?> list
        ? list.Select((item, i) => new Node(item, $"{path}[{i}]")).ToList()
        : throw new Xunit.Sdk.XunitException($"{path} is not a sequence");

    public string Text => value switch
    {
        string s => s,
        null => "",
        _ => throw new Xunit.Sdk.XunitException($"{path} is not a scalar"),
    };

    public override string ToString() => $"{path} = {value}";
}
