using System.CommandLine;

namespace Contrastive.Host;

/// <summary>`contrastive docs`: the reference tables in README.md and docs/*.md rewritten from the code (<see cref="ReferenceDocs"/>).</summary>
internal static class DocsCommand
{
    public static Command Create(TextWriter output, Func<RootCommand> root)
    {
        var check = new Option<bool>("--check") { Description = "Change nothing: list the tables that differ from what the code would write, and exit 1 if any does." };
        var folder = new Option<string?>("--root") { Description = "The repository: README.md and docs/ under it. Default: the working directory." };
        var cmd = new Command("docs", "Rewrite the reference tables of README.md and docs/*.md (each command's options, the configuration keys, the methods) from the code.") { check, folder };
        cmd.SetAction(parse =>
        {
            string dir = Path.GetFullPath(parse.GetValue(folder) ?? ".");
            var pages = new[] { Path.Combine(dir, "README.md") }.Concat(Directory.Exists(Path.Combine(dir, "docs")) ? Directory.GetFiles(Path.Combine(dir, "docs"), "*.md").Order(StringComparer.Ordinal) : [])
                .Where(File.Exists).ToList();
            if (pages.Count == 0) throw new UsageException($"--root: '{dir}' has no README.md and no docs/*.md.");
            int stale = 0;
            foreach (var page in pages)
            {
                string name = Path.GetRelativePath(dir, page), text = File.ReadAllText(page);
                var changed = new List<string>();
                string written = ReferenceDocs.Rewrite(text, name, root(), dir, changed);
                foreach (var table in changed) output.WriteLine($"{name}: {table}{(parse.GetValue(check) ? " differs from the code" : " rewritten")}");
                stale += changed.Count;
                if (changed.Count > 0 && !parse.GetValue(check)) File.WriteAllText(page, written);
            }
            if (stale == 0) output.WriteLine($"{pages.Count} page(s): the tables are current");
            return stale > 0 && parse.GetValue(check) ? Cli.Failure : Cli.Ok;
        });
        return cmd;
    }
}
