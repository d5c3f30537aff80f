using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Contrastive.Host.Serve;

/// <summary>
/// Who may call /api: the admin key (Serve:ApiKeyFile: every job) and the tenants' keys (Serve:ApiKeysFile, lines of
/// <c>KEY TENANT [max_jobs] [max_processes]</c>: each tenant sees only its own jobs, within its quota). Keys are kept as
/// SHA-256 hashes, compared in fixed time, and never written to a log or a message.
/// </summary>
internal sealed partial class ApiKeys
{
    private readonly List<(byte[] Hash, Caller Who)> _keys = [];

    /// <summary>Whether any key is configured (else every caller is the admin: loopback binds only).</summary>
    public bool Any => _keys.Count > 0;

    /// <summary>How many tenant keys there are (for the start line).</summary>
    public int Tenants => _keys.Count(k => !k.Who.IsAdmin);

    /// <summary>The keys of <paramref name="adminKey"/> and of the tenants' file, if any.</summary>
    /// <exception cref="UsageException">The tenants' file cannot be read or a line is wrong; the message names the file and the line, never a key.</exception>
    public static ApiKeys Load(string? adminKey, string? tenantsFile, string optionName)
    {
        var keys = new ApiKeys();
        if (adminKey is not null) keys._keys.Add((Hash(adminKey), Caller.Admin));
        if (string.IsNullOrWhiteSpace(tenantsFile)) return keys;
        string[] lines;
        try { lines = File.ReadAllLines(tenantsFile); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{optionName} {tenantsFile}: cannot be read ({e.Message})", e);
        }
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string where = $"{optionName} {tenantsFile} line {i + 1}";
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is < 2 or > 4) throw new UsageException($"{where}: expected KEY TENANT [max_jobs] [max_processes], found {parts.Length} field(s)");
            if (parts[0].Length < 16) throw new UsageException($"{where}: the key must be at least 16 characters (it has {parts[0].Length})");
            if (!TenantName().IsMatch(parts[1])) throw new UsageException($"{where}: tenant '{parts[1]}' must be lower-case letters, digits, '-' or '_' (at most 40)");
            int? maxJobs = parts.Length > 2 ? Quota(parts[2], "max_jobs", where) : null;
            int? maxProcesses = parts.Length > 3 ? Quota(parts[3], "max_processes", where) : null;
            byte[] hash = Hash(parts[0]);
            if (keys._keys.Any(k => CryptographicOperations.FixedTimeEquals(k.Hash, hash)))
                throw new UsageException($"{where}: this key is already given (to the admin or another line); every key must be its own");
            keys._keys.Add((hash, new Caller(parts[1], maxJobs, maxProcesses)));
        }
        return keys;
    }

    /// <summary>The caller a presented key belongs to, or null. Every key is compared, so the time taken does not say which came close.</summary>
    public Caller? Find(string presented)
    {
        byte[] hash = Hash(presented);
        Caller? found = null;
        foreach (var (h, who) in _keys)
            if (CryptographicOperations.FixedTimeEquals(h, hash)) found = who;
        return found;
    }

    private static int Quota(string text, string name, string where) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 1
            ? n : throw new UsageException($"{where}: {name} '{text}' must be a whole number from 1");

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,39}$")]
    private static partial Regex TenantName();
}

/// <summary>Who a request acts for: a tenant (its quota: active jobs, their processes) or the admin (Tenant null: every job).</summary>
internal sealed record Caller(string? Tenant, int? MaxJobs = null, int? MaxProcesses = null)
{
    public static readonly Caller Admin = new((string?)null);

    public bool IsAdmin => Tenant is null;

    /// <summary>Whether this caller may see <paramref name="job"/>: the admin every job, a tenant its own.</summary>
    public bool Owns(JobRecord job) => IsAdmin || job.Tenant == Tenant;
}
