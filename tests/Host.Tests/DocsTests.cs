using System.Text.RegularExpressions;

namespace Contrastive.Host.Tests;

/// <summary>The docs a newcomer reads: every relative link and anchor resolves, and the reference tables are what the code would write.</summary>
public sealed partial class DocsTests() : TempFolderTest("docs")
{
    /// <summary>The repository: the folder above this test's binaries that holds the solution.</summary>
    internal static string Repository
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Contrastive.Pipeline.sln"))) return d.FullName;
            throw new InvalidOperationException("the repository (Contrastive.Pipeline.sln) is not above " + AppContext.BaseDirectory);
        }
    }

    private static IEnumerable<string> Pages(string root) => [Path.Combine(root, "README.md"), .. Directory.GetFiles(Path.Combine(root, "docs"), "*.md")];

    [GeneratedRegex(@"(?<!!)\[[^\]]*\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^(#{1,6})\s+(?<title>.+?)\s*#*\s*$")]
    private static partial Regex Heading();

    /// <summary>GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, ….</summary>
    internal static HashSet<string> Anchors(string page)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>();
        foreach (var line in Lines(page))
        {
            var m = Heading().Match(line);
            if (!m.Success) continue;
            string title = Regex.Replace(m.Groups["title"].Value, @"\[([^\]]*)\]\([^)]*\)", "$1").Replace("`", "", StringComparison.Ordinal);
            string slug = new string(title.ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray()).Replace(' ', '-');
            int n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    /// <summary>The lines outside fenced and indented code blocks.</summary>
    private static IEnumerable<string> Lines(string page)
    {
        bool fenced = false;
        foreach (var line in page.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) { fenced = !fenced; continue; }
            if (!fenced && !line.StartsWith("    ", StringComparison.Ordinal)) yield return line;
        }
    }

    /// <summary>The prose lines with inline code removed (a link inside code is no link).</summary>
    private static IEnumerable<string> Prose(string page) => Lines(page).Select(l => Regex.Replace(l, "`[^`]*`", ""));

    /// <summary>Every relative link of the pages that names a missing file or a missing anchor, as "page: target".</summary>
    internal static List<string> BrokenLinks(IEnumerable<string> pages)
    {
        var broken = new List<string>();
        foreach (var page in pages)
        {
            string text = File.ReadAllText(page), dir = Path.GetDirectoryName(page)!;
            foreach (var line in Prose(text))
                foreach (Match m in Link().Matches(line))
                {
                    string target = m.Groups["target"].Value;
                    if (Regex.IsMatch(target, "^[a-z]+:", RegexOptions.IgnoreCase)) continue; // https:, mailto:
                    int hash = target.IndexOf('#', StringComparison.Ordinal);
                    string file = hash < 0 ? target : target[..hash], anchor = hash < 0 ? "" : target[(hash + 1)..];
                    string path = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(dir, Uri.UnescapeDataString(file)));
                    if (!File.Exists(path) && !Directory.Exists(path)) { broken.Add($"{Path.GetFileName(page)}: {target} (no such file)"); continue; }
                    if (anchor.Length > 0 && path.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !Anchors(File.ReadAllText(path)).Contains(anchor))
                        broken.Add($"{Path.GetFileName(page)}: {target} (no such heading)");
                }
        }
        return broken;
    }

    [Fact]
    public void Every_relative_link_and_anchor_in_the_readme_and_docs_resolves()
    {
        var broken = BrokenLinks(Pages(Repository));
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void The_link_check_finds_a_missing_file_and_a_missing_anchor()
    {
        File.WriteAllText(Path.Combine(Folder, "a.md"), "# Title\n\n## The `x` part (2)\n\nSee [b](b.md), [part](#the-x-part-2), [it](a.md#title).\n");
        File.WriteAllText(Path.Combine(Folder, "c.md"), "[gone](nothing.md) and [bad](a.md#no-such) but not `[code](x.md)` or [web](https://example.org/x).\n\n    [indented](y.md)\n");
        File.WriteAllText(Path.Combine(Folder, "b.md"), "# B\n");
        var broken = BrokenLinks([Path.Combine(Folder, "a.md"), Path.Combine(Folder, "c.md")]);
        Assert.Equal(["c.md: nothing.md (no such file)", "c.md: a.md#no-such (no such heading)"], broken);
    }

    [Fact]
    public async Task The_generated_reference_tables_are_what_the_code_writes()
    {
        // Its own process: the registry there has the build's methods only (another test registers a test-only method in this one).
        using var docs = ContrastiveProcess.Start("docs", "--check", "--root", Repository);
        int code = await docs.WaitForExit(TimeSpan.FromMinutes(1));
        Assert.True(code == 0, $"stale tables (run `contrastive docs` from the repository root):\n{docs.Out}{docs.Err}");
        Assert.Contains("tables are current", docs.Out);
    }

    [Fact]
    public async Task A_table_that_differs_from_the_code_is_reported_and_rewritten()
    {
        Directory.CreateDirectory(Path.Combine(Folder, "docs"));
        string page = Path.Combine(Folder, "docs", "x.md");
        File.WriteAllText(Path.Combine(Folder, "README.md"), "# R\n");
        File.WriteAllText(page, "# X\n\n<!-- generated: options pack -->\n| stale |\n<!-- /generated -->\n\n<!-- generated: configuration Pack -->\n<!-- /generated -->\n");
        var (code, stdout, _) = await CliRunner.Run("docs", "--check", "--root", Folder);
        Assert.Equal(Cli.Failure, code);
        Assert.Contains("docs/x.md: options pack", stdout);
        Assert.Contains("docs/x.md: configuration Pack", stdout);
        Assert.Equal("# X\n\n<!-- generated: options pack -->\n| stale |\n<!-- /generated -->\n\n<!-- generated: configuration Pack -->\n<!-- /generated -->\n", File.ReadAllText(page)); // --check writes nothing
        (code, _, _) = await CliRunner.Run("docs", "--root", Folder);
        Assert.Equal(Cli.Ok, code);
        string written = File.ReadAllText(page);
        Assert.Contains("| `--shard-size-mb SHARD-SIZE-MB` | 256 | `Pack:ShardSizeMb` | Image bytes per shard, in MB. |", written);
        Assert.Contains("| `Pack:ShardSizeMb` | 256 | `--shard-size-mb` | Image bytes per shard, in MB. Default 256. |", written);
        (code, _, _) = await CliRunner.Run("docs", "--check", "--root", Folder);
        Assert.Equal(Cli.Ok, code);
        File.WriteAllText(page, "<!-- generated: options nosuchcommand -->\n<!-- /generated -->\n");
        (code, _, var err) = await CliRunner.Run("docs", "--check", "--root", Folder);
        Assert.Equal(Cli.Usage, code);
        Assert.Contains("names no table", err);
    }
}
