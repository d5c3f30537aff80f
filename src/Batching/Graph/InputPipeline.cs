using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using Contrastive.Augment;
using Contrastive.Ingest;

namespace Contrastive.Batching;

/// <summary>
/// The bounded Dataflow graph from chunks to batches:
/// source → chunk buffer (bounded) → N parallel decode + augment workers writing into leased batch slots →
/// prefetch channel (bounded) → consumer. A fault anywhere cancels the graph and reaches the consumer as the
/// original exception; every lease returns to the pool on completion, fault or cancel.
/// </summary>
public sealed class InputPipeline : IAsyncDisposable
{
    private readonly Channel<BatchLease> _output;
    private readonly CancellationTokenSource _cts;
    private readonly BatchAssembler _assembler;
    private readonly PipelineSettings _settings;
    private readonly BatchingOptions _options;
    private readonly ConcurrentBag<Worker> _workers = new();
    private Exception? _fault;

    private sealed class Worker(IImageDecoder decoder)
    {
        public readonly IImageDecoder Decoder = decoder;
        public readonly PixelBuffer Pixels = new();
        public readonly ViewWorkspace Workspace = new();
    }

    private InputPipeline(BatchingOptions options, PipelineSettings settings, CancellationToken ct)
    {
        _options = options;
        _settings = settings;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        int workers = options.EffectiveWorkers;
        Pool = new BatchPool(options.Prefetch + workers + 2, settings.Policy.ViewCount, options.BatchSize, settings.Policy.Size);
        _output = Channel.CreateBounded<BatchLease>(new BoundedChannelOptions(options.Prefetch) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _assembler = new BatchAssembler(Pool, _output.Writer, Stats, options.BatchSize, settings.DropLast);
        var first = new Worker((settings.DecoderFactory ?? DefaultDecoder)());
        DecoderName = first.Decoder.Name;
        _workers.Add(first);
    }

    public PipelineStats Stats { get; } = new();

    public BatchPool Pool { get; }

    public string DecoderName { get; }

    /// <summary>Completes when the graph has stopped and every unpublished lease is back in the pool.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Starts the graph over the chunks <paramref name="source"/> yields.</summary>
    public static InputPipeline Start(IAsyncEnumerable<SampleChunk> source, BatchingOptions options, PipelineSettings settings, CancellationToken ct = default)
    {
        var p = new InputPipeline(options, settings, ct);
        p.Completion = p.RunAsync(source);
        return p;
    }

    /// <summary>The batches, in completion order. The consumer disposes each lease when done with it.</summary>
    public async IAsyncEnumerable<BatchLease> ReadAllAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        var reader = _output.Reader;
        while (true)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            bool more = await reader.WaitToReadAsync(ct).ConfigureAwait(false);
            Stats.Waited(System.Diagnostics.Stopwatch.GetElapsedTime(t0));
            if (!more) yield break;
            while (reader.TryRead(out var lease)) yield return lease;
        }
    }

    private static IImageDecoder DefaultDecoder() => new SkiaImageDecoder();

    private async Task RunAsync(IAsyncEnumerable<SampleChunk> source)
    {
        var token = _cts.Token;
        int workers = _options.EffectiveWorkers;
        var chunks = new BufferBlock<SampleChunk>(new DataflowBlockOptions { BoundedCapacity = _options.ChunkQueue, CancellationToken = token });
        var work = new ActionBlock<SampleChunk>(c => ProcessAsync(c, token), new ExecutionDataflowBlockOptions
        {
            MaxDegreeOfParallelism = workers,
            BoundedCapacity = workers,
            EnsureOrdered = false,
            SingleProducerConstrained = true,
            CancellationToken = token,
        });
        chunks.LinkTo(work, new DataflowLinkOptions { PropagateCompletion = true });

        var produce = Task.Run(async () =>
        {
            try
            {
                await foreach (var chunk in source.WithCancellation(token).ConfigureAwait(false))
                {
                    Stats.Chunk();
                    if (!await chunks.SendAsync(chunk, token).ConfigureAwait(false)) break;
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
            await work.Completion.ConfigureAwait(false);
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

    private async Task ProcessAsync(SampleChunk chunk, CancellationToken token)
    {
        if (!_workers.TryTake(out var w)) w = new Worker((_settings.DecoderFactory ?? DefaultDecoder)());
        try
        {
            var policy = _settings.Policy;
            for (int i = 0; i < chunk.Count; i++)
            {
                token.ThrowIfCancellationRequested();
                Stats.Read();
                var bytes = chunk.Images[i];
                try
                {
                    if (bytes is null || bytes.Length == 0) throw new ImageDecodeException("the sample has no image bytes");
                    w.Decoder.Decode(bytes, w.Pixels);
                }
                catch (ImageDecodeException e)
                {
                    BadSample(chunk.Describe(i), e.Message);
                    continue;
                }

                var slot = await _assembler.ReserveAsync(token).ConfigureAwait(false);
                try
                {
                    var batch = slot.Batch.Lease.Batch;
                    for (int v = 0; v < policy.ViewCount; v++)
                        policy.WriteView(w.Pixels, v, _settings.Seed, chunk.Epoch, chunk.Indices[i], batch.ViewSlot(v, slot.Index), w.Workspace);
                    batch.Labels[slot.Index] = chunk.Labels[i];
                    batch.Indices[slot.Index] = chunk.Indices[i];
                    Stats.Done();
                }
                finally
                {
                    await _assembler.CommitAsync(slot, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException e) when (!token.IsCancellationRequested)
        {
            // Dataflow silently drops items whose delegate throws OperationCanceledException: make it a real error.
            var error = new IOException($"An operation was cancelled unexpectedly (a timeout?) while processing {chunk.Shard}, part {chunk.Part}.", e);
            Fail(error);
            throw error;
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
        finally
        {
            _workers.Add(w);
        }
    }

    private void BadSample(string where, string why)
    {
        long bad = Stats.Bad(where, why);
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
        _cts.Dispose();
    }
}
