namespace Contrastive.Core;

/// <summary>
/// A data-parallel run resumed on another number of processes: the <paramref name="WorldSize"/> ranks that wrote the
/// checkpoint, and where each had got to (<paramref name="Cursors"/>, by old rank; null: a rank that had read nothing).
/// In the epochs those cursors lie in, the new ranks read what the old ranks had left (the read units, or mixing groups,
/// after each old rank's cursor, the group at the cursor less the samples before it), dealt round-robin in the order of
/// their positions in the epoch; from the next epoch on, each rank reads its own share as usual.
/// </summary>
public sealed record ReadReshard(int WorldSize, IReadOnlyList<ReadCursor?> Cursors)
{
    /// <summary>The first epoch an old rank had not finished (null: no old rank had read anything).</summary>
    public int? FirstEpoch => Cursors.Where(c => c is not null).Select(c => (int?)c!.Value.Epoch).Min();

    /// <summary>The last epoch an old rank had begun.</summary>
    public int? LastEpoch => Cursors.Where(c => c is not null).Select(c => (int?)c!.Value.Epoch).Max();

    /// <summary>Whether <paramref name="epoch"/> is one the old ranks left partly read (read as they left it).</summary>
    public bool Applies(int epoch) => FirstEpoch is { } first && epoch >= first && epoch <= LastEpoch;

    /// <summary>Old rank <paramref name="rank"/>'s cursor in <paramref name="epoch"/>: its own there; the epoch's start when it had not reached it; null when it had finished it (<paramref name="done"/>).</summary>
    public ReadCursor? CursorIn(int rank, int epoch, out bool done)
    {
        var c = Cursors[rank];
        done = c is { } cursor && cursor.Epoch > epoch;
        return c is { } own && own.Epoch == epoch ? own : null;
    }

    public override string ToString() =>
        $"{WorldSize} process(es) at {string.Join("; ", Cursors.Select((c, r) => $"rank {r}: {c?.ToString() ?? "not started"}"))}";
}
