using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Contrastive.Host.Serve;

/// <summary>
/// The job database: one SQLite file (WAL journal) in the state directory. One connection, used under a lock: the service
/// writes a handful of rows a second at most.
/// </summary>
internal sealed class JobStore : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();

    public JobStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        _db.Open();
        Exec("PRAGMA journal_mode=WAL;");
        Exec("PRAGMA synchronous=FULL;");
        KeepReserve();
        Exec("""
            CREATE TABLE IF NOT EXISTS jobs (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              id TEXT NOT NULL UNIQUE,
              spec TEXT NOT NULL,
              state TEXT NOT NULL,
              created TEXT NOT NULL,
              started TEXT,
              finished TEXT,
              restarts INTEGER NOT NULL DEFAULT 0,
              step INTEGER, loss REAL, lr REAL, images_per_sec REAL, starvation REAL, eta_seconds REAL,
              result TEXT,
              error TEXT,
              cancel_requested INTEGER NOT NULL DEFAULT 0);
            """);
        // Columns added since the first version: a database from an older service gains them in place (an upgrade keeps its jobs).
        var have = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using (var info = Command("PRAGMA table_info(jobs)"))
        using (var r = info.ExecuteReader())
            while (r.Read()) have.Add(r.GetString(1));
        foreach (var (name, type) in Added)
            if (!have.Contains(name)) Exec($"ALTER TABLE jobs ADD COLUMN {name} {type}");
    }

    private static readonly (string Name, string Type)[] Added =
    [
        ("executor", "TEXT"), ("external_id", "TEXT"), ("processes", "INTEGER NOT NULL DEFAULT 1"), ("tenant", "TEXT"), ("priority", "INTEGER NOT NULL DEFAULT 0"),
    ];

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>
    /// A few MB kept in a file beside the database: when the disk is full and a job's end cannot be recorded, the reserve is
    /// given up so that it can (a job's end must not wait for an operator); it is made again once space returns.
    /// </summary>
    private string ReservePath => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, ".space-reserve");

    private const int ReserveBytes = 4 << 20;

    /// <summary>Makes the space reserve again when it is missing and the disk has room (called at start and while space is fine).</summary>
    public void KeepReserve()
    {
        if (File.Exists(ReservePath)) return;
        string temp = ReservePath + ".tmp";
        try
        {
            using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write(new byte[ReserveBytes]); // written, not a sparse length: the blocks are really taken
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, ReservePath);
        }
        catch (IOException)
        {
            try { File.Delete(temp); } catch (IOException) { }
        }
    }

    /// <summary>Runs a write; when the disk is full (SQLITE_FULL: the write rolled back) it gives up the reserve and tries once more.</summary>
    private void WithReserve(Action write)
    {
        try { write(); }
        catch (SqliteException e) when (e.SqliteErrorCode == 13 && File.Exists(ReservePath))
        {
            File.Delete(ReservePath);
            write();
        }
    }

    /// <summary>A new job id: the server makes them (time, then 48 random bits), never the client.</summary>
    public static string NewId() =>
        "j" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();

    /// <summary>Whether <paramref name="id"/> has the form of an id this server makes (checked before it names a folder).</summary>
    public static bool IsWellFormed(string id) => id.Length is > 1 and <= 40 && id.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-');

    /// <summary>Adds a queued job: its spec, processes, the tenant that submitted it (null: the admin) and its priority.</summary>
    public JobRecord Add(string spec, int processes = 1, string? tenant = null, int priority = 0)
    {
        string id = NewId();
        lock (_gate)
        {
            using var cmd = Command("INSERT INTO jobs (id, spec, state, created, processes, tenant, priority) VALUES ($id, $spec, $state, $created, $processes, $tenant, $priority)");
            cmd.Parameters.AddWithValue("$processes", processes);
            cmd.Parameters.AddWithValue("$tenant", (object?)tenant ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$priority", priority);
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$spec", spec);
            cmd.Parameters.AddWithValue("$state", JobStates.Queued);
            cmd.Parameters.AddWithValue("$created", Now());
            cmd.ExecuteNonQuery();
        }
        return Get(id)!;
    }

    public JobRecord? Get(string id)
    {
        lock (_gate)
        {
            using var cmd = Command($"SELECT {Columns} FROM jobs WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", id);
            using var r = cmd.ExecuteReader();
            return r.Read() ? Read(r) : null;
        }
    }

    /// <summary>Jobs, newest first, at most <paramref name="limit"/>; only <paramref name="tenant"/>'s when one is given.</summary>
    public IReadOnlyList<JobRecord> List(int limit = 1000, string? tenant = null)
    {
        lock (_gate)
        {
            using var cmd = Command($"SELECT {Columns} FROM jobs {(tenant is null ? "" : "WHERE tenant = $tenant")} ORDER BY seq DESC LIMIT $limit");
            cmd.Parameters.AddWithValue("$limit", limit);
            if (tenant is not null) cmd.Parameters.AddWithValue("$tenant", tenant);
            using var r = cmd.ExecuteReader();
            var list = new List<JobRecord>();
            while (r.Read()) list.Add(Read(r));
            return list;
        }
    }

    /// <summary>A tenant's active jobs (queued, running, interrupted or preempted: not ended) and their processes, for its quota.</summary>
    public (int Jobs, int Processes) Active(string tenant)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT count(*), COALESCE(sum(processes), 0) FROM jobs WHERE tenant = $tenant AND state NOT IN ($s, $f, $c)");
            cmd.Parameters.AddWithValue("$tenant", tenant);
            cmd.Parameters.AddWithValue("$s", JobStates.Succeeded);
            cmd.Parameters.AddWithValue("$f", JobStates.Failed);
            cmd.Parameters.AddWithValue("$c", JobStates.Cancelled);
            using var r = cmd.ExecuteReader();
            r.Read();
            return (r.GetInt32(0), r.GetInt32(1));
        }
    }

    /// <summary>The jobs waiting to run (queued, interrupted, preempted, not being cancelled), in the order <see cref="TakeNext"/> takes them.</summary>
    public IReadOnlyList<JobRecord> Waiting()
    {
        lock (_gate)
        {
            using var cmd = Command($"SELECT {Columns} FROM jobs WHERE state IN ($interrupted, $preempted, $queued) AND cancel_requested = 0 ORDER BY {WaitingOrder}");
            cmd.Parameters.AddWithValue("$interrupted", JobStates.Interrupted);
            cmd.Parameters.AddWithValue("$preempted", JobStates.Preempted);
            cmd.Parameters.AddWithValue("$queued", JobStates.Queued);
            using var r = cmd.ExecuteReader();
            var list = new List<JobRecord>();
            while (r.Read()) list.Add(Read(r));
            return list;
        }
    }

    // Higher priority first; within a priority, jobs that already ran (interrupted, preempted) before queued ones; then oldest.
    private const string WaitingOrder = "priority DESC, state = $queued, seq";

    /// <summary>The jobs in state running, oldest first: at start, the ones the last service left (to re-attach to or to resume).</summary>
    public IReadOnlyList<JobRecord> Running()
    {
        lock (_gate)
        {
            using var cmd = Command($"SELECT {Columns} FROM jobs WHERE state = $running ORDER BY seq");
            cmd.Parameters.AddWithValue("$running", JobStates.Running);
            using var r = cmd.ExecuteReader();
            var list = new List<JobRecord>();
            while (r.Read()) list.Add(Read(r));
            return list;
        }
    }

    /// <summary>Records where a started job runs: its executor and the id it has there (a process id, a SLURM job id).</summary>
    public void SetExternal(string id, string executor, string? externalId)
    {
        lock (_gate)
        {
            using var cmd = Command("UPDATE jobs SET executor = $executor, external_id = $external WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$executor", executor);
            cmd.Parameters.AddWithValue("$external", (object?)externalId ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// The next job to run, not in <paramref name="running"/> and of at most <paramref name="freeSlots"/> processes: the highest
    /// priority first; within it, interrupted and preempted jobs, then queued ones, oldest first (a smaller job may pass one
    /// that does not fit yet); it is marked running (an interrupted or preempted one counting a restart) in the same transaction.
    /// </summary>
    public JobRecord? TakeNext(IReadOnlyCollection<string> running, int freeSlots = int.MaxValue)
    {
        string id;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            JobRecord? next = null;
            using (var cmd = Command($"SELECT {Columns} FROM jobs WHERE state IN ($interrupted, $preempted, $queued) AND cancel_requested = 0 ORDER BY {WaitingOrder}"))
            {
                cmd.Transaction = tx;
                cmd.Parameters.AddWithValue("$interrupted", JobStates.Interrupted);
                cmd.Parameters.AddWithValue("$preempted", JobStates.Preempted);
                cmd.Parameters.AddWithValue("$queued", JobStates.Queued);
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    var j = Read(r);
                    if (!running.Contains(j.Id) && j.Processes <= freeSlots) { next = j; break; }
                }
            }
            if (next is null) return null;
            using (var up = Command("UPDATE jobs SET state = $running, started = COALESCE(started, $now), restarts = restarts + $restart WHERE id = $id"))
            {
                up.Transaction = tx;
                up.Parameters.AddWithValue("$running", JobStates.Running);
                up.Parameters.AddWithValue("$now", Now());
                up.Parameters.AddWithValue("$restart", next.State is JobStates.Interrupted or JobStates.Preempted ? 1 : 0);
                up.Parameters.AddWithValue("$id", next.Id);
                up.ExecuteNonQuery();
            }
            tx.Commit();
            id = next.Id;
        }
        return Get(id);
    }

    /// <summary>A running job's latest figures.</summary>
    public void UpdateFigures(string id, long step, double? loss, double? lr, double? imagesPerSec, double? starvation, double? eta)
    {
        lock (_gate)
        {
            using var cmd = Command("UPDATE jobs SET step = $step, loss = $loss, lr = $lr, images_per_sec = $ips, starvation = $starv, eta_seconds = $eta WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$step", step);
            cmd.Parameters.AddWithValue("$loss", (object?)Finite(loss) ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$lr", (object?)Finite(lr) ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ips", (object?)Finite(imagesPerSec) ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$starv", (object?)Finite(starvation) ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$eta", (object?)Finite(eta) ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Sets a job's state; a final state records the finish time. <paramref name="result"/> and <paramref name="error"/> replace the stored ones when given.</summary>
    public void SetState(string id, string state, string? result = null, string? error = null) => WithReserve(() =>
    {
        lock (_gate)
        {
            using var cmd = Command("""
                UPDATE jobs SET state = $state, result = COALESCE($result, result), error = $error,
                  finished = CASE WHEN $final THEN $now ELSE NULL END WHERE id = $id
                """);
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$state", state);
            cmd.Parameters.AddWithValue("$result", (object?)result ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$final", JobStates.IsFinal(state));
            cmd.Parameters.AddWithValue("$now", Now());
            cmd.ExecuteNonQuery();
        }
    });

    /// <summary>
    /// Asks to cancel: a queued or interrupted job is cancelled at once (true returned); a running one is flagged for its
    /// runner (false). Returns null when the job has already ended.
    /// </summary>
    public bool? RequestCancel(string id)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            string? state;
            using (var get = Command("SELECT state FROM jobs WHERE id = $id"))
            {
                get.Transaction = tx;
                get.Parameters.AddWithValue("$id", id);
                state = get.ExecuteScalar() as string;
            }
            if (state is null || JobStates.IsFinal(state)) return null;
            bool now = state != JobStates.Running;
            using (var up = Command(now
                       ? "UPDATE jobs SET cancel_requested = 1, state = $cancelled, finished = $now WHERE id = $id"
                       : "UPDATE jobs SET cancel_requested = 1 WHERE id = $id"))
            {
                up.Transaction = tx;
                up.Parameters.AddWithValue("$id", id);
                up.Parameters.AddWithValue("$cancelled", JobStates.Cancelled);
                up.Parameters.AddWithValue("$now", Now());
                up.ExecuteNonQuery();
            }
            tx.Commit();
            return now;
        }
    }

    /// <summary>Whether the database answers (for /readyz).</summary>
    public bool Ping()
    {
        try
        {
            lock (_gate)
            {
                using var cmd = Command("SELECT count(*) FROM jobs");
                return cmd.ExecuteScalar() is long;
            }
        }
        catch (SqliteException) { return false; }
    }

    private const string Columns = "id, spec, state, created, started, finished, restarts, step, loss, lr, images_per_sec, starvation, eta_seconds, result, error, cancel_requested, executor, external_id, processes, tenant, priority";

    private static JobRecord Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), Time(r, 3)!.Value, Time(r, 4), Time(r, 5), r.GetInt32(6),
        r.IsDBNull(7) ? null : r.GetInt64(7), Real(r, 8), Real(r, 9), Real(r, 10), Real(r, 11), Real(r, 12),
        r.IsDBNull(13) ? null : r.GetString(13), r.IsDBNull(14) ? null : r.GetString(14), r.GetInt64(15) != 0,
        r.IsDBNull(16) ? null : r.GetString(16), r.IsDBNull(17) ? null : r.GetString(17), r.GetInt32(18),
        r.IsDBNull(19) ? null : r.GetString(19), r.GetInt32(20));

    private static double? Real(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetDouble(i);

    private static double? Finite(double? v) => v is { } d && double.IsFinite(d) ? d : null;

    private static DateTimeOffset? Time(SqliteDataReader r, int i) =>
        r.IsDBNull(i) ? null : DateTimeOffset.Parse(r.GetString(i), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private SqliteCommand Command(string sql)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        return cmd;
    }

    private void Exec(string sql)
    {
        using var cmd = Command(sql);
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}
