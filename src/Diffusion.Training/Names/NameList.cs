using System.Text.Json;
using System.Text.Json.Serialization;

namespace Diffusion.Training.Names;

/// <summary>One member of a closed set as people spell it: the canonical name (written to JSON and shown in help), older or shorter aliases, and a one-line description.</summary>
public sealed record Spelling<T>(T Value, string Name, string Description, params string[] Aliases) where T : struct, Enum;

/// <summary>
/// The one table of names for a closed concept (an enum): parsing at the edges (flags, JSON) goes through it, and help
/// texts and errors list its names, so a name is spelled in exactly one place. Every enum member must appear once.
/// </summary>
public sealed class NameList<T> where T : struct, Enum
{
    private readonly Dictionary<string, T> byText;

    public NameList(string concept, params Spelling<T>[] entries)
    {
        Concept = concept;
        Entries = entries;
        var missing = Enum.GetValues<T>().Except(entries.Select(e => e.Value)).ToArray();
        if (missing.Length > 0 || entries.DistinctBy(e => e.Value).Count() != entries.Length)
            throw new InvalidOperationException($"the {concept} names must list every {typeof(T).Name} once (missing: {string.Join(", ", missing)})");
        byText = entries.SelectMany(e => e.Aliases.Prepend(e.Name).Select(text => (text, e.Value)))
            .ToDictionary(p => p.text, p => p.Value, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>What the names name, for messages: "SDE", "sampler", ….</summary>
    public string Concept { get; }

    public IReadOnlyList<Spelling<T>> Entries { get; }

    /// <summary>The canonical names, comma-separated, in table order.</summary>
    public string Known => string.Join(", ", Entries.Select(e => e.Name));

    /// <summary>"name (description), …" for help texts.</summary>
    public string Help => string.Join("; ", Entries.Select(e => $"{e.Name} ({e.Description})"));

    public string Name(T value) => Entry(value).Name;

    public string Describe(T value) => Entry(value).Description;

    /// <summary>A name or alias, case-insensitively.</summary>
    public bool TryParse(string? text, out T value) => byText.TryGetValue(text?.Trim() ?? "", out value);

    /// <summary>The error for a name not in the table, naming where it came from (a flag or a JSON path) and every known name.</summary>
    public string Unknown(string text, string where) => $"{where}: unknown {Concept} '{text}'; known: {Known}";

    /// <summary>Parses <paramref name="text"/> read from <paramref name="where"/> (a flag or JSON path), or throws <see cref="UnknownNameException"/>.</summary>
    public T Parse(string text, string where) => TryParse(text, out var value) ? value : throw new UnknownNameException(Unknown(text, where), where);

    /// <summary>Reads any spelling, writes the canonical name; an unknown one is a <see cref="JsonException"/> (the caller adds the path).</summary>
    public JsonConverter<T> Json => new Converter(this);

    private Spelling<T> Entry(T value) => Entries.First(e => EqualityComparer<T>.Default.Equals(e.Value, value));

    private sealed class Converter(NameList<T> names) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException($"expected a {names.Concept} name: {names.Known}");
            return names.TryParse(text, out var value) ? value : throw new JsonException($"unknown {names.Concept} '{text}'; known: {names.Known}");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(names.Name(value));
    }
}
