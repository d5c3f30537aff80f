using System.Text.RegularExpressions;

namespace Contrastive.Ingest;

/// <summary>Resolves a data URI (a file, a directory or a glob on local disk) to an ordered list of shard files.</summary>
public static class ShardSource
{
    /// <summary>
    /// Lists the shards that <paramref name="uri"/> names, sorted by path (ordinal) so every process sees
    /// the same order. A directory is searched recursively for files ending in <paramref name="extension"/>.
    /// </summary>
    /// <exception cref="DataSourceException">The location does not exist or matches nothing.</exception>
    public static IReadOnlyList<string> Resolve(string uri, string extension = ".parquet") => Resolve(uri, [extension]);

    /// <summary>As <see cref="Resolve(string, string)"/>, for files ending in any of <paramref name="extensions"/>.</summary>
    public static IReadOnlyList<string> Resolve(string uri, IReadOnlyList<string> extensions)
    {
        string extension = string.Join("' or '*", extensions);
        if (string.IsNullOrWhiteSpace(uri))
            throw new DataSourceException(uri ?? "", "No data location was given: pass --data with a file, a directory or a glob.");
        int scheme = uri.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0)
        {
            string name = uri[..scheme];
            if (!name.Equals("file", StringComparison.OrdinalIgnoreCase))
                throw new DataSourceException(uri, $"Data location '{uri}': the '{name}://' scheme is not supported; use a local file, directory or glob, or s3://bucket/prefix.");
            uri = uri[(scheme + 3)..];
        }

        string full = Path.GetFullPath(uri);
        List<string> shards;
        if (File.Exists(full))
        {
            shards = [full];
        }
        else if (Directory.Exists(full))
        {
            shards = Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
                .Where(p => !Path.GetFileName(p).StartsWith('.') && extensions.Any(e => p.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                .ToList();
            if (shards.Count == 0)
                throw new DataSourceException(uri, $"Data location '{uri}' is a directory with no '*{extension}' files in it.");
        }
        else if (uri.IndexOfAny(['*', '?']) >= 0)
        {
            shards = ExpandGlob(full);
            if (shards.Count == 0)
                throw new DataSourceException(uri, $"Data location '{uri}' is a pattern that matches no file.");
        }
        else
        {
            throw new DataSourceException(uri, $"Data location '{uri}' does not exist (looked for '{full}').");
        }

        shards.Sort(StringComparer.Ordinal);
        return shards;
    }

    /// <summary>
    /// As <see cref="Resolve(string, IReadOnlyList{string})"/>, and for s3://bucket/prefix the objects under the prefix
    /// (listed, sorted by key) with their sizes.
    /// </summary>
    public static async Task<IReadOnlyList<(string Shard, long? Size)>> ResolveAsync(string uri, IReadOnlyList<string> extensions, CancellationToken ct, ObjectStoreOptions? store = null)
    {
        if (!ObjectStore.IsS3(uri)) return Resolve(uri, extensions).Select(p => (p, (long?)null)).ToList();
        var objects = await ObjectStore.ListAsync(uri, extensions, ct, store).ConfigureAwait(false);
        if (objects.Count == 0)
            throw new DataSourceException(uri, $"Data location '{uri}' holds no object ending in '{string.Join("' or '", extensions)}'.");
        return objects.Select(o => (o.Uri, (long?)o.Size)).ToList();
    }

    /// <summary>True when <paramref name="directory"/> holds (at any depth) a file ending in <paramref name="extension"/>.</summary>
    public static bool HasFiles(string directory, string extension) =>
        Directory.EnumerateFiles(directory, "*" + extension, SearchOption.AllDirectories).Any(p => !Path.GetFileName(p).StartsWith('.'));

    /// <summary>Expands '*', '?' and '**' (any depth) in a full path.</summary>
    private static List<string> ExpandGlob(string pattern)
    {
        string normalized = pattern.Replace('\\', '/');
        int firstWild = normalized.IndexOfAny(['*', '?']);
        int rootEnd = normalized.LastIndexOf('/', firstWild);
        string root = rootEnd <= 0 ? "/" : normalized[..rootEnd];
        if (!Directory.Exists(root)) return [];
        string rest = normalized[(rootEnd + 1)..];
        var regex = new Regex("^" + GlobToRegex(rest) + "$", RegexOptions.CultureInvariant);
        var result = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (regex.IsMatch(relative)) result.Add(file);
        }
        return result;
    }

    private static string GlobToRegex(string glob)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                bool slash = i + 2 < glob.Length && glob[i + 2] == '/';
                sb.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return sb.ToString();
    }
}
