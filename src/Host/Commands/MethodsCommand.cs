using System.CommandLine;
using System.Text.Json;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>`contrastive methods`: the registered methods and their options' defaults.</summary>
internal static class MethodsCommand
{
    public static Command Create(TextWriter output)
    {
        var json = new Option<bool>("--json") { Description = "Print {\"methods\":[...]} as one JSON object." };
        var cmd = new Command("methods", "List the registered methods: data, views, label needs and the defaults of their options.") { json };
        cmd.SetAction(parse =>
        {
            if (parse.GetValue(json)) output.WriteLine(Json());
            else Print(output);
            return Cli.Ok;
        });
        return cmd;
    }

    /// <summary>{"methods": [...]}: each registration's name, data, views, label needs, section, gradient caching, summary and defaults.</summary>
    internal static string Json() => JsonSerializer.Serialize(new
    {
        methods = MethodRegistry.All.Select(m => new Dictionary<string, object?>
        {
            ["name"] = m.Name, ["data"] = m.Data.ToString().ToLowerInvariant(), ["views"] = m.ViewsDescription, ["needs_labels"] = m.NeedsLabels,
            ["section"] = m.Section, ["grad_cache"] = m.SupportsGradCache, ["summary"] = m.Summary, ["defaults"] = m.DefaultsJson(),
        }),
    });

    private static void Print(TextWriter output)
    {
        foreach (var m in MethodRegistry.All)
        {
            output.WriteLine($"{m.Name} ({m.Data.ToString().ToLowerInvariant()}{(m.NeedsLabels ? ", needs labels" : "")}): {m.Summary}");
            output.WriteLine($"  views: {m.ViewsDescription}");
            var defaults = string.Join(", ", m.DefaultsJson().EnumerateObject().Select(p => $"{p.Name} {p.Value.GetRawText()}"));
            output.WriteLine($"  options (section {m.Section}): {defaults}");
        }
    }
}
