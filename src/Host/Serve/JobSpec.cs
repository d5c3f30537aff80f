using System.Globalization;
using System.Text.Json;

namespace Contrastive.Host.Serve;

/// <summary>
/// A job spec: a JSON object whose keys are the `train` command's options in snake case ("max_steps" for --max-steps),
/// mapped onto the same configuration keys through the one options path, so a job is configured, validated and run
/// exactly as `contrastive train` is. The server sets the run folder; "data" must lie under Serve:DataRoots. "data" may be
/// a list, as --data may be repeated: weighted sources (Data:Sources).
/// </summary>
internal static class JobSpec
{
    /// <summary>
    /// Options the server sets itself: the run folder, whether to resume, and the shard cache (a folder on the service's
    /// machine: Data:CacheDir in the service's environment, shared by its jobs, never one a job names).
    /// </summary>
    private static readonly string[] ServerSet = ["out", "resume", "cache"];

    /// <summary>Online evaluation's interval in a job whose spec does not give eval_every (0 turns it off).</summary>
    public const long DefaultEvalEvery = 500;

    /// <summary>Fields of the service's own (not train settings): how many processes the job runs as, its priority, and where SLURM runs it.</summary>
    public static readonly string[] ServiceFields = ["processes", "priority", "partition", "time_limit"];

    /// <summary>
    /// The spec's SLURM placement: "partition" (a name) and "time_limit" (minutes, or [D-]HH:MM:SS), both for the slurm executor.
    /// </summary>
    /// <exception cref="JobSpecException">A malformed value, or either one under another executor.</exception>
    public static (string? Partition, string? TimeLimit) Placement(string json, string executor)
    {
        string? partition = Field(json, "partition"), time = Field(json, "time_limit");
        if (partition is "null") partition = null;
        if (time is "null") time = null;
        if (executor != "slurm" && (partition ?? time) is not null)
            throw new JobSpecException(partition is not null ? "partition" : "time_limit",
                $"{(partition is not null ? "partition" : "time_limit")}: only for Serve:Executor slurm; this server runs jobs with the {executor} executor");
        if (partition is not null && !System.Text.RegularExpressions.Regex.IsMatch(partition, "^[A-Za-z0-9_.-]{1,64}$"))
            throw new JobSpecException("partition", $"partition: '{partition}' is not a partition name (letters, digits, '.', '_', '-')");
        time = time?.Trim('"');
        if (time is not null && !System.Text.RegularExpressions.Regex.IsMatch(time, @"^(\d+|(\d+-)?\d{1,2}(:\d{2}){1,2})$"))
            throw new JobSpecException("time_limit", $"time_limit: '{time}' is not minutes or [D-]HH:MM:SS");
        return (partition, time);
    }

    /// <summary>The spec's "priority" (default 0, from -1000 to 1000): higher runs first, and preempts lower-priority running jobs when no slot is free.</summary>
    /// <exception cref="JobSpecException">Not a whole number in range.</exception>
    public static int Priority(string json)
    {
        string? text = Field(json, "priority");
        if (text is null || text == "null") return 0;
        if (!int.TryParse(text.Trim('"'), NumberStyles.Integer, CultureInfo.InvariantCulture, out int p) || p is < -1000 or > 1000)
            throw new JobSpecException("priority", $"priority: '{text}' is not a whole number from -1000 to 1000");
        return p;
    }

    /// <summary>
    /// The spec's "processes": how many data-parallel processes the job runs as (mpirun -np N under the local executor).
    /// Default 1.
    /// </summary>
    /// <exception cref="JobSpecException">Not a whole number from 1.</exception>
    public static int Processes(string json)
    {
        string? text = Field(json, "processes");
        if (text is null || text == "null") return 1;
        if (!int.TryParse(text.Trim('"'), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 1)
            throw new JobSpecException("processes", $"processes: '{text}' is not a whole number of processes (1 or more)");
        return n;
    }

    /// <summary>spec field → configuration key, from the train settings' declarations (the registered methods' flags included).</summary>
    public static IReadOnlyDictionary<string, string> Fields
    {
        get
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var option in TrainSettings.Options)
            {
                string name = option.Name.TrimStart('-').Replace('-', '_');
                if (!ServerSet.Contains(name)) fields[name] = option.Key;
            }
            return fields;
        }
    }

    /// <summary>
    /// Parses and checks a spec: known fields with scalar values, data under a root. Returns the configuration overrides
    /// (key → value) and, for messages, which field set each key.
    /// </summary>
    /// <exception cref="JobSpecException">The spec cannot run; the message names the field.</exception>
    public static (Dictionary<string, string?> Overrides, Dictionary<string, string> Given) Parse(string json, IReadOnlyList<string> dataRoots)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new JobSpecException(null, $"the job spec is not JSON: {e.Message}"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new JobSpecException(null, "the job spec must be a JSON object of train settings, e.g. {\"method\":\"simclr\",\"data\":\"/data/x\",\"max_steps\":1000}");
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var given = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var fields = Fields;
        List<DataSource>? sources = null;
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "data" && p.Value.ValueKind == JsonValueKind.Array)
            {
                sources = Sources(p.Value);
                continue;
            }
            if (ServerSet.Contains(p.Name))
                throw new JobSpecException(p.Name, p.Name == "cache"
                    ? "cache: set by the server (its operator gives the jobs one shard cache: CONTRASTIVE_Data__CacheDir in the service's environment)"
                    : $"{p.Name}: set by the server (each job trains in its own folder under the state directory, and resumes by itself)");
            if (ServiceFields.Contains(p.Name)) continue;
            if (!fields.TryGetValue(p.Name, out string? key))
                throw new JobSpecException(p.Name, $"{p.Name}: not a train setting; the settings are {string.Join(", ", fields.Keys.Concat(ServiceFields).Order(StringComparer.Ordinal))}");
            string? value = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Number => p.Value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.Null => null,
                _ => throw new JobSpecException(p.Name, $"{p.Name}: must be a string, number or true/false, not {p.Value.ValueKind.ToString().ToLowerInvariant()}"),
            };
            if (value is null) continue;
            overrides[key] = value;
            given[key] = p.Name;
        }
        if (sources is { Count: > 1 })
        {
            // Weighted sources, as the train command's repeated --data: each location checked as "data" is.
            overrides.Remove("Data:Uri");
            for (int i = 0; i < sources.Count; i++)
            {
                string key = string.Create(CultureInfo.InvariantCulture, $"Data:Sources:{i}:");
                overrides[key + "Uri"] = CheckData(sources[i].Uri, dataRoots, "data", $"data[{i}]");
                overrides[key + "Weight"] = Invariant(sources[i].Weight);
                given[key + "Uri"] = given[key + "Weight"] = "data";
            }
        }
        else
        {
            string data = sources is [var one] ? one.Uri : overrides.GetValueOrDefault("Data:Uri") ?? "";
            overrides["Data:Uri"] = CheckData(data, dataRoots);
            if (sources is not null) given["Data:Uri"] = "data";
        }
        // Foreign weights are read like data: only from under a data root (a local file).
        if (overrides.GetValueOrDefault("Training:InitFrom") is { } init)
        {
            if (init.Contains("://", StringComparison.Ordinal))
                throw new JobSpecException("init_from", $"init_from: '{init}' must be a local safetensors file under a data root ({string.Join(", ", dataRoots)})");
            overrides["Training:InitFrom"] = CheckData(init, dataRoots, "init_from");
        }
        // Jobs watch their quality by default (the CLI's train does not): online kNN every DefaultEvalEvery steps.
        overrides.TryAdd("Evaluation:Every", DefaultEvalEvery.ToString(CultureInfo.InvariantCulture));
        return (overrides, given);
    }

    /// <summary>
    /// "data" as a list: weighted sources, each "LOCATION[:WEIGHT]" (as the train command's repeated --data) or
    /// {"uri": LOCATION, "weight": W} (weight default 1). One entry is one location (its weight means nothing).
    /// </summary>
    /// <exception cref="JobSpecException">An empty list, an entry of another kind, or a weight that is not a positive number.</exception>
    private static List<DataSource> Sources(JsonElement list)
    {
        var sources = new List<DataSource>();
        int i = 0;
        foreach (var entry in list.EnumerateArray())
        {
            string at = $"data[{i++}]";
            switch (entry.ValueKind)
            {
                case JsonValueKind.String:
                    try { sources.Add(DataOptions.ParseSource(entry.GetString()!, at)); }
                    catch (UsageException e) { throw new JobSpecException("data", e.Message); }
                    break;
                case JsonValueKind.Object:
                    var source = new DataSource();
                    foreach (var f in entry.EnumerateObject())
                    {
                        if (f.Name == "uri" && f.Value.ValueKind == JsonValueKind.String) source.Uri = f.Value.GetString()!;
                        else if (f.Name == "weight" && f.Value.ValueKind == JsonValueKind.Number) source.Weight = f.Value.GetDouble();
                        else if (f.Name is "uri" or "weight")
                            throw new JobSpecException("data", $"{at}.{f.Name}: must be {(f.Name == "uri" ? "a string" : "a number")}, not {f.Value.ValueKind.ToString().ToLowerInvariant()}");
                        else throw new JobSpecException("data", $"{at}.{f.Name}: not a field of a weighted source (uri, weight)");
                    }
                    if (string.IsNullOrWhiteSpace(source.Uri)) throw new JobSpecException("data", $"{at}: has no uri");
                    if (!double.IsFinite(source.Weight) || source.Weight <= 0)
                        throw new JobSpecException("data", string.Create(CultureInfo.InvariantCulture, $"{at}: weight {source.Weight}; a weight is a positive number"));
                    sources.Add(source);
                    break;
                default:
                    throw new JobSpecException("data", $"{at}: a weighted source is \"LOCATION:WEIGHT\" or {{\"uri\": …, \"weight\": …}}, not {entry.ValueKind.ToString().ToLowerInvariant()}");
            }
        }
        if (sources.Count == 0)
            throw new JobSpecException("data", "data: an empty list; give a location, or weighted sources such as [\"a:0.7\", \"s3://bucket/b/:0.3\"]");
        return sources;
    }

    /// <summary>The job's data locations after <see cref="Parse"/>: Data:Uri, or each weighted source's.</summary>
    public static IEnumerable<string> Locations(IReadOnlyDictionary<string, string?> overrides)
    {
        if (overrides.GetValueOrDefault("Data:Uri") is { } uri) yield return uri;
        for (int i = 0; overrides.GetValueOrDefault(string.Create(CultureInfo.InvariantCulture, $"Data:Sources:{i}:Uri")) is { } source; i++) yield return source;
    }

    /// <summary>
    /// <paramref name="data"/> resolved and checked against the roots: a local path (absolute, or relative to the first local
    /// root) must lie inside a local root; an s3:// URI must start with an s3:// root's bucket and prefix; no ".." anywhere.
    /// </summary>
    /// <param name="field">The spec's key a refusal names (<see cref="JobSpecException.Setting"/>).</param>
    /// <param name="label">How messages name the value (default <paramref name="field"/>): "data[1]" for a weighted source.</param>
    public static string CheckData(string data, IReadOnlyList<string> roots, string field = "data", string? label = null)
    {
        try { return CheckLocation(data, roots, label ?? field); }
        catch (JobSpecException e) when (e.Setting != field) { throw new JobSpecException(field, e.Message); }
    }

    /// <summary><see cref="CheckData"/> with messages that name <paramref name="field"/>.</summary>
    private static string CheckLocation(string data, IReadOnlyList<string> roots, string field)
    {
        if (string.IsNullOrWhiteSpace(data)) throw new JobSpecException("data", "data: is required (the service has no demo dataset): a path under a data root or an s3:// URI in a configured bucket");
        if (roots.Count == 0) throw new JobSpecException("data", "data: no data roots are configured on this server (Serve:DataRoots, --data-root), so no job can read data");
        if (data.Replace('\\', '/').Split('/').Any(s => s == ".."))
            throw new JobSpecException(field, $"{field}: '{data}' contains '..'; give a path inside a data root ({string.Join(", ", roots)})");
        if (data.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var root in roots.Where(r => r.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)))
            {
                string r = root.TrimEnd('/');
                if (data.Equals(r, StringComparison.Ordinal) || data.StartsWith(r + "/", StringComparison.Ordinal)) return data;
            }
            throw new JobSpecException(field, $"{field}: '{data}' is outside the configured buckets and data roots ({string.Join(", ", roots)})");
        }
        if (data.Contains("://", StringComparison.Ordinal))
            throw new JobSpecException(field, $"{field}: '{data}' is neither a local path nor an s3:// URI");
        var local = roots.Where(r => !r.Contains("://", StringComparison.Ordinal)).Select(r => Path.TrimEndingDirectorySeparator(Path.GetFullPath(r))).ToList();
        if (local.Count == 0) throw new JobSpecException(field, $"{field}: '{data}' is a local path, and the data roots are all in object storage ({string.Join(", ", roots)})");
        string full = Path.IsPathRooted(data) ? Path.GetFullPath(data) : Path.GetFullPath(Path.Combine(local[0], data));
        // Symbolic links are followed (every component) before the check, on both sides: a link inside a root that points
        // elsewhere leads outside it. The job re-parses its spec when it starts, so a link made after submission is caught too.
        string real = RealPath(full);
        foreach (var root in local.Select(RealPath))
            if (real.Equals(root, StringComparison.Ordinal) || real.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) return full;
        throw new JobSpecException(field, real == Path.TrimEndingDirectorySeparator(full)
            ? $"{field}: '{data}' is outside the data roots ({string.Join(", ", roots)})"
            : $"{field}: '{data}' leads to '{real}' through a symbolic link, outside the data roots ({string.Join(", ", roots)})");
    }

    /// <summary>
    /// <paramref name="path"/> (absolute) with every symbolic link among its components replaced by what it points to,
    /// component by component from the root (a link's target may hold links of its own; dangling links are followed as
    /// written). Components that do not exist are kept as given.
    /// </summary>
    /// <exception cref="JobSpecException">More than 40 links on the way (a loop).</exception>
    internal static string RealPath(string path)
    {
        string root = Path.GetPathRoot(path) ?? "/";
        var pending = new Stack<string>(path[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse());
        string current = root;
        int links = 0;
        while (pending.TryPop(out var part))
        {
            if (part == ".") continue;
            if (part == "..") { current = Path.GetDirectoryName(current) ?? root; continue; }
            string next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is { } target)
            {
                if (++links > 40) throw new JobSpecException("data", $"data: '{path}' has too many symbolic links (a loop?)");
                string absolute = Path.IsPathRooted(target) ? target : Path.Combine(current, target);
                string targetRoot = Path.GetPathRoot(absolute) ?? "/";
                foreach (var t in absolute[targetRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(t);
                current = targetRoot;
                continue;
            }
            current = next;
        }
        return Path.TrimEndingDirectorySeparator(current);
    }

    /// <summary>The spec field that a settings error message starts with, if any (errors name the field the way the spec gave it).</summary>
    public static string? FieldIn(string message, IReadOnlyDictionary<string, string> given) =>
        given.Values.OrderByDescending(f => f.Length).FirstOrDefault(f => message.StartsWith(f + " ", StringComparison.Ordinal) || message.StartsWith(f + ":", StringComparison.Ordinal));

    /// <summary>The spec's values in the spec's own words, for the job list (method, data, max_steps).</summary>
    public static string? Field(string json, string name)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText() : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>Refuses a local data path that does not exist (a glob or an s3:// URI is left to the run).</summary>
    public static void CheckExists(IReadOnlyDictionary<string, string?> overrides)
    {
        bool weighted = !overrides.ContainsKey("Data:Uri");
        int i = 0;
        foreach (var resolved in Locations(overrides))
        {
            string at = weighted ? $"data[{i}]" : "data";
            i++;
            if (resolved.Contains("://", StringComparison.Ordinal) || resolved.IndexOfAny(['*', '?', '[']) >= 0) continue;
            if (!File.Exists(resolved) && !Directory.Exists(resolved)) throw new JobSpecException("data", $"{at}: '{resolved}' does not exist");
        }
    }

    /// <summary>The spec's "data" for the job list: the location, or the weighted sources as LOCATION:WEIGHT, comma-separated.</summary>
    public static string? DataText(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("data", out var v)) return null;
            if (v.ValueKind != JsonValueKind.Array) return v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText();
            return string.Join(", ", v.EnumerateArray().Select(e => e.ValueKind switch
            {
                JsonValueKind.String => e.GetString(),
                JsonValueKind.Object when e.TryGetProperty("uri", out var u) => e.TryGetProperty("weight", out var w) ? $"{u}:{w.GetRawText()}" : u.ToString(),
                _ => e.GetRawText(),
            }));
        }
        catch (JsonException) { return null; }
    }

    internal static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
