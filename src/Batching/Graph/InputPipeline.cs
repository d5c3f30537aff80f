using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using Contrastive.Augment;
using Contrastive.Ingest;

namespace Contrastive.Batching;

/// <summary>
/// The bounded Dataflow graph from chunks to batches:
/// source → chunk buffer (bounded) → N parallel decode + augment workers writing into leased batch slots →
/// prefetch channel (bounded) → consumer. With <see cref="BatchingOptions.Deterministic"/>, workers stage views
/// in chunk buffers and an ordered assembler fills the batches, so composition does not depend on timing.
/// A fault anywhere cancels the graph and reaches the consumer as the original exception; every lease returns
/// to the pool on completion, fault or cancel.
/// </summary>
public sealed class InputPipeline : IAsyncDisposable, IBatchSource
{
    private readonly Channel<BatchLease> _output;
    private readonly CancellationTokenSource _cts;
    private readonly BatchAssembler _assembler;
    private readonly PipelineSettings _settings;
    private readonly BatchingOptions _options;
    private readonly ConcurrentBag<ISampleWorker> _workers = new();
    private readonly PipelineMetrics _metrics;
    private readonly int _workerCount;
    private Exception? _fault;
    private Func<int> _chunkCount = () => 0, _workerInput = () => 0;
    private readonly TraceRecorder? _trace;
    private readonly ConcurrentDictionary<ISampleWorker, int> _lanes = new(ReferenceEqualityComparer.Instance);
    private readonly int _assemblerLane;

    /// <summary>A chunk whose views were made into a pooled staging buffer (deterministic mode).</summary>
    private sealed record Staged(Tracked Item, byte[] Views, bool[] Ok, int[]? Tokens, int[]? TokenLengths);

    /// <summary>A worker's encoded caption, between its decode and its slot write (one per worker, reused).</summary>
    private sealed class TokenScratch(int context)
    {
        public readonly int[] Row = new int[context];
        public int Length;
    }

    private readonly ICaptionEncoder? _captions;
    private readonly int _context; // token ids per sample; 0 without text
    private readonly ConcurrentDictionary<ISampleWorker, TokenScratch> _tokenScratch = new(ReferenceEqualityComparer.Instance);

    /// <summary>A chunk and the record of where its samples went.</summary>
    private sealed record Tracked(SampleChunk Chunk, ReadProgress.Chunk Progress);

    private readonly ReadProgress _progress;
    private readonly int _sampleBytes; // all views of one sample

    private InputPipeline(BatchingOptions options, PipelineSettings settings, CancellationToken ct)
    {
        _options = options;
        _settings = settings;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _workerCount = options.EffectiveWorkersFor(settings.TrainerSharesCpu);
        var processor = settings.Processor;
        _sampleBytes = processor.SampleBytes;
        _captions = settings.Captions;
        _context = _captions?.Context ?? 0;
        if (processor.ViewCount == 0 && _captions is null)
            throw new ArgumentException($"the sample processor '{processor.Name}' makes no views, so the pipeline needs a caption encoder (PipelineSettings.Captions)", nameof(settings));
        if (_captions is not null && _context < 1)
            throw new ArgumentException($"the caption encoder '{_captions.Name}' has a context of {_context} ids", nameof(settings));
        Pool = new BatchPool(options.Prefetch + _workerCount + 2, processor.ViewCount, options.BatchSize, processor.ViewBytes, processor.Size, processor.FloatViews,
            processor.ViewSizes, _context);
        _progress = new ReadProgress(retain: Pool.Buffers + 2);
        _output = Channel.CreateBounded<BatchLease>(new BoundedChannelOptions(options.Prefetch) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _trace = settings.Trace;
        _assemblerLane = _trace?.Lane(TraceRecorder.AssemblerLane) ?? 0;
        _assembler = new BatchAssembler(Pool, _output.Writer, Stats, options.BatchSize, settings.DropLast, _progress, _trace);
        _workers.Add(processor.CreateWorker());
        DecoderName = processor.Name;
        Stats.Queues = () => new QueueOccupancy(_chunkCount(), options.ChunkQueue, _workerInput(), _workerCount,
            _output.Reader.Count, options.Prefetch, Pool.Outstanding, Pool.Buffers);
        _metrics = new PipelineMetrics(Stats, settings.Name);
    }

    public PipelineStats Stats { get; } = new();

    /// <summary>
    /// The first <paramref name="count"/> bad samples in read order (a batch's <see cref="Batch.SkippedBefore"/>), per shard:
    /// the bad samples of the data a consumer has taken, where <see cref="PipelineStats.BadByShard"/> also counts read-ahead.
    /// </summary>
    public IReadOnlyDictionary<string, long> SkippedBefore(long count) => _progress.SkippedBefore(count);

    public BatchPool Pool { get; }

    private PipelineSnapshot? _described;

    /// <summary>The per-stage figures since the previous call (since the start for the first): <see cref="PipelineSnapshot.Summary"/>.</summary>
    public string? Describe()
    {
        var now = Stats.Snapshot();
        var interval = _described is { } before ? now.Since(before) : now;
        _described = now;
        return interval.Summary();
    }

    public string DecoderName { get; }

    /// <summary>Decode + augment workers running in parallel.</summary>
    public int Workers => _workerCount;

    /// <summary>Completes when the graph has stopped and every unpublished lease is back in the pool.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Starts the graph over the chunks <paramref name="source"/> yields.</summary>
    public static InputPipeline Start(IAsyncEnumerable<SampleChunk> source, BatchingOptions options, PipelineSettings settings, CancellationToken ct = default)
    {
        var p = new InputPipeline(options, settings, ct);
        p.Completion = p.RunAsync(source);
        return p;
    }

    /// <summary>The batches, in publication order. The consumer disposes each lease when done with it.</summary>
    public async IAsyncEnumerable<BatchLease> ReadAllAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        var reader = _output.Reader;
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            BatchLease? lease;
            while (!reader.TryRead(out lease))
            {
                if (!await reader.WaitToReadAsync(ct).ConfigureAwait(false))
                {
                    Stats.Waited(Stopwatch.GetTimestamp() - t0);
                    yield break;
                }
            }
            long waited = Stopwatch.GetTimestamp() - t0;
            Stats.Waited(waited);
            _metrics.RecordWait(Stopwatch.GetElapsedTime(0, waited).TotalMilliseconds);
            yield return lease;
        }
    }

    private async Task RunAsync(IAsyncEnumerable<SampleChunk> source)
    {
        var token = _cts.Token;
        var chunks = new BufferBlock<Tracked>(new DataflowBlockOptions { BoundedCapacity = _options.ChunkQueue, CancellationToken = token });
        _chunkCount = () => chunks.Count;
        var link = new DataflowLinkOptions { PropagateCompletion = true };
        Task work;
        if (_options.Deterministic)
        {
            var stage = new TransformBlock<Tracked, Staged>(c => Guard(c, token, StageAsync), new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = _workerCount, BoundedCapacity = _workerCount, EnsureOrdered = true, CancellationToken = token,
            });
            var assemble = new ActionBlock<Staged>(s => AssembleAsync(s, token), new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = 1, BoundedCapacity = 2, CancellationToken = token,
            });
            chunks.LinkTo(stage, link);
            stage.LinkTo(assemble, link);
            _workerInput = () => stage.InputCount;
            work = assemble.Completion;
        }
        else
        {
            var direct = new ActionBlock<Tracked>(c => Guard(c, token, ProcessAsync), new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = _workerCount, BoundedCapacity = _workerCount, EnsureOrdered = false,
                SingleProducerConstrained = true, CancellationToken = token,
            });
            chunks.LinkTo(direct, link);
            _workerInput = () => direct.InputCount;
            work = direct.Completion;
        }

        var produce = Task.Run(async () =>
        {
            try
            {
                int lane = _trace?.Lane(TraceRecorder.ReaderLane) ?? 0;
                var reading = source.GetAsyncEnumerator(token);
                try
                {
                    while (true)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        if (!await reading.MoveNextAsync().ConfigureAwait(false)) break;
                        var chunk = reading.Current;
                        long t1 = Stopwatch.GetTimestamp();
                        Stats.Chunk(t1 - t0);
                        _trace?.Complete(lane, "read", t0, t1, ChunkArgs(chunk));
                        var item = new Tracked(chunk, _progress.Register(chunk));
                        bool sent = await chunks.SendAsync(item, token).ConfigureAwait(false);
                        _trace?.Complete(lane, "queue chunk", t1, Stopwatch.GetTimestamp());
                        if (!sent) { chunk.Dispose(); break; }
                    }
                }
                finally
                {
                    await reading.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                Fail(e);
            }
            finally
            {
                chunks.Complete();
            }
        });

        try
        {
            await produce.ConfigureAwait(false);
            await work.ConfigureAwait(false);
            if (_fault is null && !token.IsCancellationRequested) await _assembler.FinishAsync(token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            _assembler.ReturnUnpublished();
            if (_fault is not null) _output.Writer.TryComplete(_fault);
            else if (token.IsCancellationRequested) _output.Writer.TryComplete(new OperationCanceledException(token));
            else _output.Writer.TryComplete();
        }
    }

    private void Fail(Exception e)
    {
        if (e is OperationCanceledException && _cts.IsCancellationRequested) return; // a consequence, not a cause
        Interlocked.CompareExchange(ref _fault, e, null);
        try { _cts.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>
    /// Runs a block's work with the pipeline's fault rules: the first error cancels the graph, and an
    /// OperationCanceledException that is not our own cancellation (an I/O timeout, say) becomes a real error,
    /// because Dataflow would otherwise drop the item silently.
    /// </summary>
    private async Task<T> Guard<T>(Tracked item, CancellationToken token, Func<Tracked, CancellationToken, Task<T>> body)
    {
        var chunk = item.Chunk;
        try
        {
            return await body(item, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!token.IsCancellationRequested)
        {
            var error = new IOException($"An operation was cancelled unexpectedly (a timeout?) while processing {chunk.Shard}, part {chunk.Part}.", e);
            Fail(error);
            throw error;
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
    }

    private Task Guard(Tracked item, CancellationToken token, Func<Tracked, CancellationToken, Task> body) =>
        Guard(item, token, async (c, t) => { await body(c, t).ConfigureAwait(false); return true; });

    /// <summary>A chunk's span arguments: where it came from and how many samples it holds.</summary>
    private static string ChunkArgs(SampleChunk chunk) =>
        $"{{\"shard\":{System.Text.Json.JsonSerializer.Serialize(Path.GetFileName(chunk.Shard))},\"part\":{chunk.Part},\"samples\":{chunk.Count}}}";

    /// <summary>The trace lane of a worker ("worker N", in the order workers were first used).</summary>
    private int LaneOf(ISampleWorker w) =>
        _trace is null ? 0 : _lanes.GetOrAdd(w, _ => _trace.Lane($"worker {Interlocked.Increment(ref _workerLanes)}", 10 + _workerLanes));

    private int _workerLanes;

    /// <summary>Decodes sample <paramref name="i"/>; false (counted) when it is bad.</summary>
    private bool Decode(ISampleWorker w, SampleChunk chunk, int i, int lane)
    {
        var bytes = chunk.Images[i];
        Stats.Read(bytes.Length);
        long t0 = Stopwatch.GetTimestamp(), a0 = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            if (chunk.Problems?[i] is { } problem) throw new SampleFormatException(problem);
            w.Prepare(bytes, _settings.Seed, chunk.EpochOf(i), chunk.Indices[i]);
            if (_captions is not null) Tokenize(w, chunk, i);
        }
        catch (SampleFormatException e)
        {
            BadSample(chunk.ShardOf(i), chunk.Describe(i), e.Message);
            return false;
        }
        long t1 = Stopwatch.GetTimestamp();
        Stats.DecodedOne(t1 - t0, GC.GetAllocatedBytesForCurrentThread() - a0);
        _trace?.Complete(lane, "decode", t0, t1);
        return true;
    }

    /// <summary>
    /// Encodes sample <paramref name="i"/>'s caption into the worker's token row (ids, then padding 0 to the end of the
    /// row whatever the encoder left there); throws <see cref="SampleFormatException"/> for a caption the encoder refuses.
    /// </summary>
    private void Tokenize(ISampleWorker w, SampleChunk chunk, int i)
    {
        if (chunk.Captions is not { } captions)
            throw new InvalidOperationException(
                $"the pipeline tokenizes captions ({_captions!.Name}) but {chunk.Shard}, part {chunk.Part} carries none: read with ReadPlan.Captions = true from data that has captions");
        var scratch = _tokenScratch.GetOrAdd(w, static (_, context) => new TokenScratch(context), _context);
        int length = _captions!.EncodeUtf8Into(captions[i].Span, scratch.Row);
        if (length < 1 || length > _context)
            throw new InvalidOperationException($"the caption encoder '{_captions.Name}' returned a length of {length} for a row of {_context} ids");
        scratch.Row.AsSpan(length).Clear();
        scratch.Length = length;
    }

    /// <summary>Writes the worker's encoded caption into a batch slot's token row, or (batch null) into its place in a staging buffer.</summary>
    private void WriteTokens(ISampleWorker w, int i, Batch? batch, int slot, int[]? staging, int[]? stagingLengths)
    {
        var scratch = _tokenScratch[w];
        if (batch is not null)
        {
            scratch.Row.CopyTo(batch.TokenRow(slot));
            batch.TokenLengths![slot] = scratch.Length;
        }
        else
        {
            scratch.Row.CopyTo(staging.AsSpan(i * _context, _context));
            stagingLengths![i] = scratch.Length;
        }
    }

    /// <summary>Writes sample <paramref name="i"/>'s views into a batch slot, or (batch null) into its place in a staging buffer.</summary>
    /// The caption's tokens (with text) go the same way, into the slot's token row or the token staging buffer.
    private void MakeViews(ISampleWorker w, SampleChunk chunk, int i, Batch? batch, int slot, byte[]? staging, int[]? tokenStaging, int[]? lengthStaging, int lane)
    {
        long t0 = Stopwatch.GetTimestamp(), a0 = GC.GetAllocatedBytesForCurrentThread();
        var processor = _settings.Processor;
        int views = processor.ViewCount, at = i * _sampleBytes;
        for (int v = 0; v < views; v++)
        {
            int bytes = processor.ViewBytesOf(v);
            var dst = batch is not null ? batch.ViewSlot(v, slot) : staging.AsSpan(at, bytes);
            at += bytes;
            w.WriteView(v, _settings.Seed, chunk.EpochOf(i), chunk.Indices[i], dst);
        }
        if (_captions is not null) WriteTokens(w, i, batch, slot, tokenStaging, lengthStaging);
        long t1 = Stopwatch.GetTimestamp();
        Stats.Augmented(views, _sampleBytes, t1 - t0, GC.GetAllocatedBytesForCurrentThread() - a0);
        _trace?.Complete(lane, "augment", t0, t1);
    }

    private ISampleWorker RentWorker() => _workers.TryTake(out var w) ? w : _settings.Processor.CreateWorker();

    /// <summary>Unordered mode: decode, reserve a slot, write the views straight into it.</summary>
    private async Task ProcessAsync(Tracked item, CancellationToken token)
    {
        var (chunk, progress) = item;
        var w = RentWorker();
        int lane = LaneOf(w);
        long started = Stopwatch.GetTimestamp();
        string? args = _trace is null ? null : ChunkArgs(chunk);
        try
        {
            for (int i = 0; i < chunk.Count; i++)
            {
                token.ThrowIfCancellationRequested();
                if (!Decode(w, chunk, i, lane)) { progress.Skip(i); continue; }
                long t0 = Stopwatch.GetTimestamp();
                var slot = await _assembler.ReserveAsync(token).ConfigureAwait(false);
                _trace?.Complete(lane, "wait for slot", t0, Stopwatch.GetTimestamp());
                progress.Place(i, slot.Batch);
                long t1 = 0;
                try
                {
                    var batch = slot.Batch.Lease.Batch;
                    MakeViews(w, chunk, i, batch, slot.Index, null, null, null, lane);
                    t1 = Stopwatch.GetTimestamp();
                    SetSample(batch, slot.Index, chunk, i);
                }
                finally
                {
                    await _assembler.CommitAsync(slot, token).ConfigureAwait(false);
                    if (t1 != 0) _trace?.Complete(lane, "slot write", t1, Stopwatch.GetTimestamp());
                }
            }
        }
        finally
        {
            long ended = Stopwatch.GetTimestamp(); // before the worker goes back: its next chunk's span starts after this one ends
            _workers.Add(w);
            chunk.Dispose();
            _trace?.Complete(lane, "chunk", started, ended, args);
        }
    }

    /// <summary>Deterministic mode, parallel part: decode and make the chunk's views into a pooled staging buffer.</summary>
    private Task<Staged> StageAsync(Tracked item, CancellationToken token)
    {
        var chunk = item.Chunk;
        var w = RentWorker();
        int lane = LaneOf(w);
        long started = Stopwatch.GetTimestamp();
        string? args = _trace is null ? null : ChunkArgs(chunk);
        try
        {
            var staging = ArrayPool<byte>.Shared.Rent(chunk.Count * _sampleBytes);
            var ok = ArrayPool<bool>.Shared.Rent(chunk.Count);
            int[]? tokens = null, lengths = null;
            if (_captions is not null)
            {
                tokens = ArrayPool<int>.Shared.Rent(chunk.Count * _context);
                lengths = ArrayPool<int>.Shared.Rent(chunk.Count);
            }
            for (int i = 0; i < chunk.Count; i++)
            {
                token.ThrowIfCancellationRequested();
                ok[i] = Decode(w, chunk, i, lane);
                if (!ok[i]) continue;
                MakeViews(w, chunk, i, null, 0, staging, tokens, lengths, lane);
            }
            return Task.FromResult(new Staged(item, staging, ok, tokens, lengths));
        }
        finally
        {
            long ended = Stopwatch.GetTimestamp(); // before the worker goes back: its next chunk's span starts after this one ends
            _workers.Add(w);
            chunk.Dispose(); // the views are staged; the encoded bytes are no longer needed
            _trace?.Complete(lane, "chunk", started, ended, args);
        }
    }

    /// <summary>Deterministic mode, ordered part: copy staged views into batch slots in stream order.</summary>
    private async Task AssembleAsync(Staged staged, CancellationToken token)
    {
        long started = Stopwatch.GetTimestamp();
        int lane = _assemblerLane;
        try
        {
            var (chunk, progress) = staged.Item;
            var processor = _settings.Processor;
            for (int i = 0; i < chunk.Count; i++)
            {
                if (!staged.Ok[i]) { progress.Skip(i); continue; }
                long t0 = Stopwatch.GetTimestamp();
                var slot = await _assembler.ReserveAsync(token).ConfigureAwait(false);
                _trace?.Complete(lane, "wait for slot", t0, Stopwatch.GetTimestamp());
                progress.Place(i, slot.Batch);
                using var write = _trace.Span(lane, "slot write");
                try
                {
                    var batch = slot.Batch.Lease.Batch;
                    for (int v = 0, at = i * _sampleBytes; v < processor.ViewCount; v++)
                    {
                        int bytes = processor.ViewBytesOf(v);
                        staged.Views.AsSpan(at, bytes).CopyTo(batch.ViewSlot(v, slot.Index));
                        at += bytes;
                    }
                    if (staged.Tokens is not null)
                    {
                        staged.Tokens.AsSpan(i * _context, _context).CopyTo(batch.TokenRow(slot.Index));
                        batch.TokenLengths![slot.Index] = staged.TokenLengths![i];
                    }
                    SetSample(batch, slot.Index, chunk, i);
                }
                finally
                {
                    await _assembler.CommitAsync(slot, token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(staged.Views);
            ArrayPool<bool>.Shared.Return(staged.Ok);
            if (staged.Tokens is not null) ArrayPool<int>.Shared.Return(staged.Tokens);
            if (staged.TokenLengths is not null) ArrayPool<int>.Shared.Return(staged.TokenLengths);
            _trace?.Complete(lane, "assemble chunk", started, Stopwatch.GetTimestamp());
        }
    }

    private static void SetSample(Batch batch, int slot, SampleChunk chunk, int i)
    {
        batch.Labels[slot] = chunk.Labels[i];
        batch.Indices[slot] = chunk.Indices[i];
        batch.Sources[slot] = BatchDiversityMeter.SourceId(chunk.ShardOf(i), chunk.PartOf(i));
        batch.Keys[slot] = chunk.Keys?[i];
    }

    private void BadSample(string shard, string where, string why)
    {
        long bad = Stats.Bad(shard, where, why);
        long read = Stats.SamplesRead;
        if (bad > _options.BadSampleAllowance && bad > _options.MaxBadSampleFraction * read)
        {
            throw new BadSampleBudgetException(
                $"{bad} of {read} samples so far could not be decoded, above the error budget (MaxBadSampleFraction {_options.MaxBadSampleFraction}, " +
                $"allowance {_options.BadSampleAllowance}). First ones: {string.Join("; ", Stats.BadExamples.Take(3))}");
        }
    }

    /// <summary>Stops the graph, waits for it, and returns every lease still waiting in the prefetch queue.</summary>
    public async ValueTask DisposeAsync()
    {
        try { _cts.Cancel(); } catch (ObjectDisposedException) { }
        try { await Completion.ConfigureAwait(false); } catch { /* the consumer already saw the fault */ }
        while (_output.Reader.TryRead(out var lease)) lease.Dispose();
        while (_workers.TryTake(out var worker)) (worker as IDisposable)?.Dispose(); // decoders' native handles
        _metrics.Dispose();
        _cts.Dispose();
    }
}
