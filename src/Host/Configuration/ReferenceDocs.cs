using System.CommandLine;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>
/// The reference tables the docs hold, written from the code: each command's options (from its declarations), every
/// configuration section's keys (from the options classes and their XML documentation) and the methods (from the
/// registry). A page marks a table as <c>&lt;!-- generated: NAME --&gt;</c> … <c>&lt;!-- /generated --&gt;</c>; NAME is
/// <c>options COMMAND</c>, <c>configuration SECTION</c>, <c>methods</c>, <c>methods brief</c> or <c>packages</c>.
/// </summary>
internal static partial class ReferenceDocs
{
    [GeneratedRegex(@"<!-- generated: (?<name>[^>]+?) -->\n(?<body>.*?)<!-- /generated -->", RegexOptions.Singleline)]
    private static partial Regex Region();

    /// <summary>The page with every generated region rewritten; <paramref name="stale"/> gets the names of those that changed.</summary>
    /// <exception cref="UsageException">A region names no table the code has.</exception>
    /// <param name="repository">The folder holding Directory.Packages.props (for the <c>packages</c> table).</param>
    public static string Rewrite(string page, string path, RootCommand root, string repository, List<string> stale) => Region().Replace(page, m =>
    {
        string name = m.Groups["name"].Value.Trim();
        string body = Table(name, root, repository) ?? throw new UsageException($"{path}: '<!-- generated: {name} -->' names no table (options COMMAND, configuration SECTION, methods, methods brief or packages).");
        if (body != m.Groups["body"].Value) stale.Add(name);
        return $"<!-- generated: {name} -->\n{body}<!-- /generated -->";
    });

    private static string? Table(string name, RootCommand root, string repository)
    {
        var parts = name.Split(' ', 2, StringSplitOptions.TrimEntries);
        return parts switch
        {
            ["methods"] => Methods(),
            ["methods", "brief"] => MethodsBrief(),
            ["packages"] => Packages(Path.Combine(repository, "Directory.Packages.props")),
            ["options", var command] => root.Subcommands.FirstOrDefault(c => c.Name == command) is { } c ? Options(c) : null,
            ["configuration", var section] => Settings.SectionType(section) is { } t ? Configuration(section, t, root) : null,
            _ => null,
        };
    }

    [GeneratedRegex(@"^(?<text>.*?)(?: Default: (?<default>.*?)\.)?(?: \[(?<key>[A-Za-z]+:[A-Za-z:]+)\])?$", RegexOptions.Singleline)]
    private static partial Regex Help();

    /// <summary>A command's options as its help gives them: option, default, configuration key, what it does.</summary>
    internal static string Options(Command command)
    {
        var s = new StringBuilder("| option | default | key | what it does |\n|---|---|---|---|\n");
        foreach (var o in command.Options.Where(o => o.Name is not ("--help" or "-h" or "-?") && !o.Hidden))
        {
            var m = Help().Match(o.Description ?? "");
            string value = o.ValueType == typeof(bool) ? "" : $" {o.HelpName ?? o.Name.TrimStart('-').ToUpperInvariant()}";
            s.Append($"| `{o.Name}{value}` | {Cell(m.Groups["default"].Value)} | {Code(m.Groups["key"].Value)} | {Cell(m.Groups["text"].Value)} |\n");
        }
        return s.ToString();
    }

    /// <summary>A section's keys: key, default, the options that set it, what it means (the property's documentation).</summary>
    internal static string Configuration(string section, Type type, RootCommand root)
    {
        var flags = root.Subcommands.SelectMany(c => c.Options.Select(o => (Command: c.Name, o.Name, Key: Help().Match(o.Description ?? "").Groups["key"].Value)))
            .Where(f => f.Key.Length > 0).ToLookup(f => f.Key, StringComparer.OrdinalIgnoreCase);
        var s = new StringBuilder("| key | default | option | meaning |\n|---|---|---|---|\n");
        void Rows(string prefix, Type t)
        {
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetSetMethod() is not null))
            {
                string key = $"{prefix}:{p.Name}";
                // A nested options class (Serve:Limits) lists its own keys.
                if (p.PropertyType.IsClass && p.PropertyType != typeof(string) && !typeof(System.Collections.IEnumerable).IsAssignableFrom(p.PropertyType))
                {
                    Rows(key, p.PropertyType);
                    continue;
                }
                string options = string.Join(", ", flags[key].Select(f => f.Name).Distinct().Select(n => $"`{n}`"));
                s.Append($"| `{key}` | {Cell(Settings.DefaultText(key) ?? "")} | {options} | {Cell(Summary(p))} |\n");
            }
        }
        Rows(section, type);
        return s.ToString();
    }

    /// <summary>The registered methods: name, data, views, labels, section, gradient caching, what it is.</summary>
    internal static string Methods()
    {
        var s = new StringBuilder("| method | data | views | labels | section | gradient caching | what it is |\n|---|---|---|---|---|---|---|\n");
        foreach (var m in MethodRegistry.All)
            s.Append($"| `{m.Name}` | {m.Data.ToString().ToLowerInvariant()} | {Cell(m.ViewsDescription)} | {(m.NeedsLabels ? "needed" : "not needed")} | `{m.Section}` | {(m.SupportsGradCache ? "yes" : "no")} | {Cell(m.Summary)} |\n");
        return s.ToString();
    }

    /// <summary>The registered methods in four columns, for the README: name, data, views, labels.</summary>
    internal static string MethodsBrief()
    {
        var s = new StringBuilder("| method (`--method`) | data | views | labels |\n|---|---|---|---|\n");
        foreach (var m in MethodRegistry.All)
            s.Append($"| `{m.Name}` | {m.Data.ToString().ToLowerInvariant()} | {Cell(m.ViewsDescription)} | {(m.NeedsLabels ? "needed" : "not needed")} |\n");
        return s.ToString();
    }

    /// <summary>Every pinned package of Directory.Packages.props with its version and the comment above it (why it is there).</summary>
    internal static string? Packages(string props)
    {
        if (!File.Exists(props)) return null;
        var s = new StringBuilder("| package | version | why |\n|---|---|---|\n");
        string why = "";
        foreach (var node in XDocument.Load(props).Descendants("ItemGroup").Nodes())
        {
            if (node is XComment c) why = Regex.Replace(c.Value, @"\s+", " ").Trim();
            else if (node is XElement { Name.LocalName: "PackageVersion" } e)
                s.Append($"| {(string?)e.Attribute("Include")} | {(string?)e.Attribute("Version")} | {Cell(why)} |\n");
        }
        return s.ToString();
    }

    private static string Code(string s) => s.Length == 0 ? "" : $"`{s}`";

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Trim();

    private static readonly Dictionary<Assembly, XDocument?> Xml = [];

    /// <summary>The summary of a property's XML documentation (the assembly's .xml beside it), on one line; empty when there is none.</summary>
    internal static string Summary(PropertyInfo p)
    {
        var assembly = p.DeclaringType!.Assembly;
        XDocument? doc;
        lock (Xml)
        {
            if (!Xml.TryGetValue(assembly, out doc))
            {
                string file = Path.ChangeExtension(assembly.Location, ".xml");
                Xml[assembly] = doc = File.Exists(file) ? XDocument.Load(file) : null;
            }
        }
        var member = doc?.Descendants("member").FirstOrDefault(e => (string?)e.Attribute("name") == $"P:{p.DeclaringType.FullName}.{p.Name}");
        var summary = member?.Element("summary");
        if (summary is null) return "";
        var text = new StringBuilder();
        foreach (var node in summary.Nodes())
            text.Append(node switch
            {
                XText t => t.Value,
                XElement { Name.LocalName: "see" } e => $"`{Short((string?)e.Attribute("cref") ?? (string?)e.Attribute("langword") ?? "")}`",
                XElement { Name.LocalName: "paramref" or "typeparamref" } e => $"`{(string?)e.Attribute("name")}`",
                XElement e => e.Value,
                _ => "",
            });
        return Regex.Replace(text.ToString(), @"\s+", " ").Trim();
    }

    private static string Short(string cref) => cref.Contains(':', StringComparison.Ordinal) ? cref[(cref.LastIndexOf('.') + 1)..] : cref;
}
