using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>The trainer's checkpoints: what a checkpoint says of the run, writing it, restoring from it, and the newest intact one on resume.</summary>
public sealed partial class ContrastiveTrainer
{
    /// <summary>
    /// The input's shuffle-buffer bounds (samples, bytes) for an epoch, stored in checkpoints with the cursor so a resume reads
    /// that epoch in the same order (a resumed epoch keeps the bounds its first cursor was made under).
    /// </summary>
    public Func<int, long[]>? ShuffleBuffer { get; set; }

    /// <summary>A resume on another number of processes this run reads under (kept in its checkpoints until those epochs are read).</summary>
    public ReadReshard? Reshard { get; set; }

    /// <summary>Whether <see cref="Restore"/> takes a checkpoint written by another number of processes (the data can be dealt anew: shard data).</summary>
    public bool AcceptsOtherWorldSize { get; set; }

    /// <summary>The checkpoint header for this run at its current step.</summary>
    public CheckpointInfo Describe(double seconds, ReadCursor? cursor, int epoch = 0) => new()
    {
        Method = Registration.Name, Encoder = Registration.Data == MethodData.Images ? _o.Encoder : Registration.Name, SmallImages = _o.SmallStem(Context.ImageSize), ConvNetPool = _o.ConvNetPool,
        ImageSize = Context.ImageSize, Channels = Context.Channels, MethodOptions = Registration.SerializeOptions(Context.Options),
        Step = Step, Samples = Samples, Epoch = cursor?.Epoch ?? epoch, Cursor = cursor, Seconds = seconds, Seed = _o.Seed, ShuffleBuffer = ShuffleBuffer?.Invoke(cursor?.Epoch ?? epoch),
        Reshard = Reshard is { LastEpoch: { } last } r && (cursor?.Epoch ?? epoch) <= last ? r : null,
    };

    /// <summary>
    /// Writes a checkpoint of the model, the optimizer, the method's own state and the position; returns its path. In a
    /// data-parallel run this is a collective: every rank's cursor is gathered and rank 0 writes the one file (whose path
    /// every rank gets back).
    /// </summary>
    public string SaveCheckpoint(CheckpointStore store, double seconds, ReadCursor? cursor, int epoch = 0)
    {
        var info = Describe(seconds, cursor, epoch);
        if (Group.WorldSize > 1)
        {
            var mine = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(cursor);
            var cursors = Group.AllGatherBytes(mine).Select(b => System.Text.Json.JsonSerializer.Deserialize<ReadCursor?>(b)).ToArray();
            info = info with { WorldSize = Group.WorldSize, RankCursors = cursors };
            string? written = Group.Rank == 0 ? Write(store, info) : null;
            return System.Text.Encoding.UTF8.GetString(Group.BroadcastBytes(written is null ? null : System.Text.Encoding.UTF8.GetBytes(written)));
        }
        return Write(store, info);
    }

    private string Write(CheckpointStore store, CheckpointInfo info)
    {
        var state = StateParts.Write(w =>
        {
            StateParts.WritePart(w, _optimizer.SaveState());
            StateParts.WritePart(w, Method.SaveState());
        });
        return store.Write(info, ModuleState.Save(Method.Model), state);
    }

    /// <summary>This rank's resume point in a checkpoint: its own cursor in a data-parallel one; none when it was written by another number of processes (see <see cref="ReshardOf"/>).</summary>
    public ReadCursor? CursorOf(CheckpointInfo info) => info.WorldSize != Group.WorldSize ? null
        : info.RankCursors is { } all && Group.Rank < all.Length ? all[Group.Rank] : info.Cursor;

    /// <summary>
    /// How a checkpoint's data is read on: the earlier ranks and their cursors when it was written by another number of
    /// processes, or the resume on another number it still reads under; null when each rank simply continues its own share.
    /// </summary>
    public static ReadReshard? ReshardOf(CheckpointInfo info, int worldSize) => info.WorldSize != worldSize
        ? new ReadReshard(info.WorldSize, info.RankCursors ?? [info.Cursor])
        : info.Reshard is { } r && r.Applies(info.Cursor?.Epoch ?? info.Epoch) ? r : null;

    /// <summary>Restores model, optimizer, method state and position from a checkpoint of the same method and settings.</summary>
    /// <exception cref="InvalidDataException">The checkpoint was made by another method or with other settings; the message says which.</exception>
    public void Restore(CheckpointData data)
    {
        var info = data.Info;
        if (!string.Equals(info.Method, Registration.Name, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"Checkpoint '{data.Path}' was made by --method {info.Method}; this run is {Registration.Name}. Use a new --out or the same method.");
        var mine = Describe(0, null);
        var differences = new List<string>();
        if (Registration.Data == MethodData.Images && info.Encoder != mine.Encoder) differences.Add($"encoder {info.Encoder} (this run: {mine.Encoder})");
        if (Registration.Data == MethodData.Images && mine.Encoder == "convnet" && info.ConvNetPool != mine.ConvNetPool)
            differences.Add($"Training:ConvNetPool {info.ConvNetPool} (this run: {mine.ConvNetPool})");
        if (Registration.Data == MethodData.Images && mine.Encoder.StartsWith("resnet", StringComparison.Ordinal) && info.SmallImages != mine.SmallImages)
            differences.Add($"Training:Stem {StemName(info.SmallImages)} (this run: {StemName(mine.SmallImages)}; --stem {StemName(info.SmallImages)} resumes it)");
        if (info.ImageSize != mine.ImageSize) differences.Add($"{(Registration.Data == MethodData.Images ? "image size" : "window")} {info.ImageSize} (this run: {mine.ImageSize})");
        if (info.Format >= 2 && info.MethodOptions is not null && !JsonNode.DeepEquals(JsonNode.Parse(info.MethodOptions), JsonNode.Parse(mine.MethodOptions!)))
            differences.Add($"{Registration.Section} options {info.MethodOptions} (this run: {mine.MethodOptions})");
        if (differences.Count > 0)
            throw new InvalidDataException($"Checkpoint '{data.Path}' was made with {string.Join("; ", differences)}. Use a new --out or the same settings.");
        if (info.WorldSize != Group.WorldSize && !AcceptsOtherWorldSize)
            throw new InvalidDataException($"Checkpoint '{data.Path}' was written by {info.WorldSize} process(es) reading disjoint parts of the data; this run has " +
                $"{Group.WorldSize}. Resume with the same number (mpirun -np {info.WorldSize} …), or start a new --out: each rank's place in the epoch " +
                "belongs to its own share of the data, and only shard data (Parquet, tar) read as one source can be dealt anew (not an image folder, IDX file or weighted sources).");
        if (info.WorldSize != Group.WorldSize && info.Reshard is { } earlier && earlier.Applies(info.Cursor?.Epoch ?? info.Epoch))
            throw new InvalidDataException($"Checkpoint '{data.Path}' was written by {info.WorldSize} process(es) still reading what {earlier.WorldSize} left of epoch " +
                $"{info.Cursor?.Epoch ?? info.Epoch}; this run has {Group.WorldSize}. Resume with {info.WorldSize} (mpirun -np {info.WorldSize} …) until that epoch is read, " +
                "then with any number.");
        ModuleState.Load(Method.Model, data.Model);
        // Format 1 wrote the optimizer's state alone for methods without state of their own, and parts for the others.
        if (info.Format < 2 && Method.SaveState().Length == 0)
        {
            _optimizer.LoadState(data.Optimizer);
        }
        else
        {
            using var ms = new MemoryStream(data.Optimizer);
            using var r = new BinaryReader(ms);
            _optimizer.LoadState(StateParts.ReadPart(r));
            var own = StateParts.ReadPart(r);
            if (own.Length > 0) Method.LoadState(own);
        }
        Step = info.Step;
        Samples = info.Samples;
    }

    /// <summary>
    /// Starts from foreign weights (<see cref="ModelExport.Import"/>): the model takes the file's tensors, the method's target,
    /// teacher or key network takes them again, and in a data-parallel run every rank then holds rank 0's.
    /// </summary>
    /// <exception cref="InvalidDataException">A tensor is missing, unexpected or of another shape (one line naming it).</exception>
    public ImportResult InitFrom(SafeTensors file)
    {
        var result = ModelExport.Import(Method.Model, file);
        Method.ModelReplaced();
        if (Group.WorldSize > 1) SyncFromRankZero();
        return result;
    }

    /// <summary>
    /// Restores the newest checkpoint in <paramref name="store"/> that verifies and returns it; null when there is none.
    /// Corrupt files are skipped and reported through <paramref name="skipped"/>.
    /// </summary>
    public CheckpointData? ResumeLatest(CheckpointStore store, Action<string>? skipped = null)
    {
        var ckpt = Group.WorldSize > 1 ? ShareLatest(store, skipped) : store.LatestIntact(skipped);
        if (ckpt is not null)
        {
            Restore(ckpt);
            SyncFromRankZero();
        }
        return ckpt;
    }

    /// <summary>Rank 0 finds the newest intact checkpoint and sends it to every rank (no shared file system needed).</summary>
    private CheckpointData? ShareLatest(CheckpointStore store, Action<string>? skipped)
    {
        var mine = Group.Rank == 0 ? store.LatestIntact(skipped) : null;
        var header = Group.BroadcastBytes(mine is null ? null : System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(mine.Info));
        if (header.Length == 0) return null;
        var model = Group.BroadcastBytes(mine?.Model);
        var optimizer = Group.BroadcastBytes(mine?.Optimizer);
        var path = System.Text.Encoding.UTF8.GetString(Group.BroadcastBytes(mine is null ? null : System.Text.Encoding.UTF8.GetBytes(mine.Path)));
        return mine ?? new CheckpointData(System.Text.Json.JsonSerializer.Deserialize<CheckpointInfo>(header)!, model, optimizer, path);
    }

    /// <summary>
    /// The method of a checkpoint rebuilt from the file alone (its registration, options, encoder, size and seed), with the
    /// checkpoint's weights loaded, or with the seed's initial weights when <paramref name="randomInit"/> (the baseline).
    /// </summary>
    public static IContrastiveMethod Load(CheckpointData data, Device device, bool randomInit = false)
    {
        var info = data.Info;
        var registration = MethodRegistry.Find(info.Method)
            ?? throw new InvalidDataException($"Checkpoint '{data.Path}' was made by method '{info.Method}', which this build does not have ({MethodRegistry.Names}).");
        object options = registration.DeserializeOptions(info.MethodOptions ?? Format1Options(registration, info));
        // The stem the checkpoint was trained with, whatever auto would choose for its size today.
        var training = new TrainingOptions { Method = registration.Name, Encoder = info.Encoder, Stem = StemName(info.SmallImages), ConvNetPool = info.ConvNetPool, Seed = info.Seed };
        var method = registration.Create(new MethodContext(training, options, device, info.ImageSize, info.Channels));
        if (!randomInit) ModuleState.Load(method.Model, data.Model);
        return method;
    }

    private static string StemName(bool small) => small ? "small" : "imagenet";

    /// <summary>Format-1 checkpoints kept the projection size in the header: the defaults with that size.</summary>
    private static string? Format1Options(MethodRegistration registration, CheckpointInfo info)
    {
        var node = JsonNode.Parse(registration.SerializeOptions(registration.NewOptions()))!.AsObject();
        if (info.ProjectionDim > 0 && node.ContainsKey("ProjectionDim")) node["ProjectionDim"] = info.ProjectionDim;
        return node.ToJsonString();
    }
}
