using System.Runtime.InteropServices;

namespace Contrastive.Training;

/// <summary>
/// A process group over Open MPI's C API, called by P/Invoke on <c>libmpi.so.40</c> (Debian's <c>libopenmpi3</c>, brought
/// by <c>openmpi-bin</c>). Open MPI's handles are the addresses of its exported globals (<c>ompi_mpi_comm_world</c>,
/// <c>ompi_mpi_float</c>, <c>ompi_mpi_op_sum</c>, …); <c>MPI_IN_PLACE</c> is <c>(void*)1</c>. The library is first opened
/// with RTLD_GLOBAL (its plugins use its symbols without linking it). MPI is initialised with MPI_THREAD_SERIALIZED: the
/// trainer's calls may come from different thread-pool threads, one at a time. Counts are int: large buffers go in chunks.
/// </summary>
public sealed unsafe class MpiProcessGroup : IProcessGroup
{
    public const string Library = "libmpi.so.40";

    /// <summary>The libmpi this group was opened from (<see cref="Library"/>, or another path or file name, e.g. an Open MPI under /opt).</summary>
    private readonly string _libraryName;
    public const string InstallHint = "apt-get install openmpi-bin (Debian / Ubuntu: it brings Open MPI's runtime library libopenmpi3 with libmpi.so.40)";
    private const int ThreadSerialized = 2;
    private const int ChunkElements = 1 << 28;

    private readonly nint _lib;
    private readonly nint _world, _float, _double, _long, _int, _byte, _sum, _max, _min;
    private readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged<nint, int, nint, nint, int, nint, nint, int> _allgather;
    private readonly delegate* unmanaged<nint, int, nint, int, nint, int> _bcast;
    private readonly delegate* unmanaged<nint, int> _barrier;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<int*, int> _finalized;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;
    private readonly bool _initialisedHere;
    private bool _disposed;

    private MpiProcessGroup(nint lib, int localRank, string library)
    {
        _lib = lib;
        _libraryName = library;
        _world = Export("ompi_mpi_comm_world");
        _float = Export("ompi_mpi_float");
        _double = Export("ompi_mpi_double");
        _long = Export("ompi_mpi_long");
        _int = Export("ompi_mpi_int");
        _byte = Export("ompi_mpi_unsigned_char");
        _sum = Export("ompi_mpi_op_sum");
        _max = Export("ompi_mpi_op_max");
        _min = Export("ompi_mpi_op_min");
        _allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        _allgather = (delegate* unmanaged<nint, int, nint, nint, int, nint, nint, int>)Export("MPI_Allgather");
        _bcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)Export("MPI_Bcast");
        _barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        _abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        _finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        var initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        var initThread = (delegate* unmanaged<int*, nint, int, int*, int>)Export("MPI_Init_thread");
        var commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        var commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");

        int flag = 0, provided = 0, rank = 0, size = 0;
        Check(initialized(&flag), "MPI_Initialized");
        if (flag == 0)
        {
            Check(initThread(null, 0, ThreadSerialized, &provided), "MPI_Init_thread");
            _initialisedHere = true;
            if (provided < ThreadSerialized)
                throw new DistributedSetupException($"Open MPI gives thread level {provided}; the trainer needs MPI_THREAD_SERIALIZED ({ThreadSerialized}).");
        }
        Check(commRank(_world, &rank), "MPI_Comm_rank");
        Check(commSize(_world, &size), "MPI_Comm_size");
        Rank = rank;
        WorldSize = size;
        LocalRank = localRank;
    }

    /// <summary>
    /// Loads Open MPI and joins the world the launcher started. <paramref name="launch"/> is what the environment said;
    /// a world size that MPI does not confirm (e.g. WORLD_SIZE=2 in a process not started by mpirun) is an error.
    /// </summary>
    /// <exception cref="DistributedSetupException">The library is missing or is not Open MPI's, or MPI's world differs from the launcher's.</exception>
    /// <param name="library">The libmpi to load: <see cref="Library"/> by default, or a path or file name (the host's CONTRASTIVE_MPI_LIBRARY).</param>
    public static MpiProcessGroup Open(LaunchEnvironment launch, string library = Library)
    {
        nint lib = Load(library);
        var group = new MpiProcessGroup(lib, launch.LocalRank, library);
        if (group.WorldSize != launch.WorldSize || group.Rank != launch.Rank)
        {
            var (rank, size) = (group.Rank, group.WorldSize);
            group.Dispose();
            throw new DistributedSetupException(size == 1
                ? $"MPI sees a world of 1, not {launch.WorldSize}: data-parallel training needs a launcher that starts every rank, " +
                  $"mpirun -np {launch.WorldSize} contrastive train … (or srun --mpi=pmix under SLURM); RANK / WORLD_SIZE alone connect no processes."
                : $"MPI says rank {rank} of {size}: launch with mpirun or srun and leave RANK / WORLD_SIZE unset, or make them agree.");
        }
        return group;
    }

    /// <summary>Whether Open MPI's library can be loaded here.</summary>
    public static bool Available(string library = Library)
    {
        try { Load(library); return true; }
        catch (DistributedSetupException) { return false; }
    }

    private static nint Load(string name)
    {
        // RTLD_NOW | RTLD_GLOBAL first, so that Open MPI's plugins (dlopen'ed by it) resolve its symbols.
        dlopen(name, 0x2 | 0x100);
        if (!NativeLibrary.TryLoad(name, out nint lib))
            throw new DistributedSetupException($"Distributed training needs Open MPI's {name}, which cannot be loaded: {InstallHint}" +
                (name == Library ? "." : $" (or name another libmpi)."));
        if (!NativeLibrary.TryGetExport(lib, "ompi_mpi_comm_world", out _))
            throw new DistributedSetupException($"{name} is not Open MPI's (no ompi_mpi_comm_world export): {InstallHint}.");
        return lib;
    }

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint dlopen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);

    public int Rank { get; }

    public int WorldSize { get; }

    public int LocalRank { get; }

    public string Backend => $"mpi ({_libraryName})";

    public void AllReduce<T>(Span<T> values, ReduceOp op = ReduceOp.Sum) where T : unmanaged
    {
        nint type = Type<T>(), o = op switch { ReduceOp.Sum => _sum, ReduceOp.Max => _max, _ => _min };
        fixed (T* p = values)
            for (int s = 0; s < values.Length; s += ChunkElements)
                Check(_allreduce(1, (nint)(p + s), Math.Min(ChunkElements, values.Length - s), type, o, _world), "MPI_Allreduce");
    }

    public void AllGather<T>(ReadOnlySpan<T> mine, Span<T> all) where T : unmanaged
    {
        if ((long)mine.Length * WorldSize != all.Length)
            throw new ArgumentException($"all-gather of {mine.Length} values from each of {WorldSize} ranks into {all.Length}");
        nint type = Type<T>();
        if (mine.Length <= ChunkElements)
        {
            fixed (T* m = mine)
            fixed (T* a = all)
                Check(_allgather((nint)m, mine.Length, type, (nint)a, mine.Length, type, _world), "MPI_Allgather");
            return;
        }
        // Larger than one call's count: gather chunk by chunk through a staging buffer, then place each rank's piece.
        var stage = new T[(long)ChunkElements * WorldSize];
        for (int s = 0; s < mine.Length; s += ChunkElements)
        {
            int n = Math.Min(ChunkElements, mine.Length - s);
            fixed (T* m = mine)
            fixed (T* a = stage)
                Check(_allgather((nint)(m + s), n, type, (nint)a, n, type, _world), "MPI_Allgather");
            for (int r = 0; r < WorldSize; r++) stage.AsSpan(r * n, n).CopyTo(all.Slice(r * mine.Length + s, n));
        }
    }

    public void Broadcast<T>(Span<T> values, int root = 0) where T : unmanaged
    {
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), $"root {root} is outside a world of {WorldSize}");
        nint type = Type<T>();
        fixed (T* p = values)
            for (int s = 0; s < values.Length; s += ChunkElements)
                Check(_bcast((nint)(p + s), Math.Min(ChunkElements, values.Length - s), type, root, _world), "MPI_Bcast");
    }

    public void Barrier() => Check(_barrier(_world), "MPI_Barrier");

    /// <summary>
    /// Ends every rank of the job with <paramref name="code"/> (MPI_Abort): what a rank that fails mid-run does, since the
    /// others would wait for it in their next collective (and MPI_Finalize would wait for them).
    /// </summary>
    public void Abort(int code)
    {
        _disposed = true;
        _abort(_world, code);
    }

    private nint Type<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? _float : typeof(T) == typeof(double) ? _double : typeof(T) == typeof(long) ? _long
        : typeof(T) == typeof(int) ? _int : typeof(T) == typeof(byte) ? _byte
        : throw new NotSupportedException($"MPI collectives here take float, double, long, int or byte, not {typeof(T).Name}");

    private nint Export(string name) => NativeLibrary.TryGetExport(_lib, name, out nint p)
        ? p : throw new DistributedSetupException($"{Library} has no export {name}; Open MPI 4.x is expected ({InstallHint}).");

    private void Check(int code, string call)
    {
        if (code == 0) return;
        var text = new byte[512];
        int length = 0;
        if (_errorString is not null)
            fixed (byte* t = text) _errorString(code, t, &length);
        throw new InvalidOperationException($"{call} failed with MPI error {code}: {System.Text.Encoding.UTF8.GetString(text, 0, Math.Clamp(length, 0, text.Length))}");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        int done = 0;
        if (_initialisedHere && _finalized(&done) == 0 && done == 0) _finalize();
    }
}
