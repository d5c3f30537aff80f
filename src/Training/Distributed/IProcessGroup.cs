namespace Contrastive.Training;

/// <summary>
/// The processes of one data-parallel run: rank, world size and the collectives the trainer needs, on spans of
/// primitive values (float, double, long, int, byte). Every rank must make the same calls in the same order. Calls come
/// from one thread at a time (the trainer's); the input pipeline's Dataflow blocks never call a group. Tensor forms are
/// in <see cref="ProcessGroupTensors"/>.
/// </summary>
public interface IProcessGroup : IDisposable
{
    /// <summary>This process's rank, 0 … <see cref="WorldSize"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Processes in the run.</summary>
    int WorldSize { get; }

    /// <summary>This process's rank among those on its machine (the GPU it uses).</summary>
    int LocalRank { get; }

    /// <summary>"single", "mpi" (and the library it loaded).</summary>
    string Backend { get; }

    /// <summary>Combines every rank's <paramref name="values"/> element-wise, in place, on every rank.</summary>
    void AllReduce<T>(Span<T> values, ReduceOp op = ReduceOp.Sum) where T : unmanaged;

    /// <summary>Every rank's <paramref name="mine"/> (all the same length), concatenated in rank order into <paramref name="all"/>.</summary>
    void AllGather<T>(ReadOnlySpan<T> mine, Span<T> all) where T : unmanaged;

    /// <summary>Root's <paramref name="values"/> copied into every rank's.</summary>
    void Broadcast<T>(Span<T> values, int root = 0) where T : unmanaged;

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();
}
