using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>Everything a `bench` run is configured by: the data, the batches, the views of a method, the decoders, and how long and against what consumer.</summary>
/// <param name="Uri">The data read (the demo dataset when none was named).</param>
/// <param name="Policy">The views the method trains on.</param>
/// <param name="Decoders">One decoder per worker.</param>
/// <param name="DecodeScaling">Whether decoding is sized by the crops (Augment:DecodeScaling), for the report's header.</param>
internal sealed record BenchSettings(string Uri, DataOptions Data, BatchingOptions Batching, BenchOptions Bench, ProfileOptions Profile, IViewPolicy Policy,
    Func<IImageDecoder> Decoders, bool DecodeScaling)
{
    /// <summary>The tokenizer the workers run on each caption; null: captions are not read.</summary>
    public ICaptionEncoder? Captions { get; init; }

    /// <summary>What asked for captions (the option or the method), and the caption column's option, for the message when the data has none.</summary>
    public string CaptionsBy { get; init; } = "--captions";

    public string TextColumnOption { get; init; } = "--text-column";

    /// <summary>Object storage: requests and retries (section "ObjectStore").</summary>
    public ObjectStoreOptions ObjectStore { get; init; } = new();

    /// <summary>Binds and checks the bench's sections; writes the demo dataset when no data was named.</summary>
    public static async Task<BenchSettings> BindAsync(CommandContext c, CancellationToken ct)
    {
        var bench = c.Bind<BenchOptions>("Bench");
        var profile = c.Bind<ProfileOptions>("Profile");
        if (bench.Stage == "ingest" && (profile.Trace ?? profile.Report) is not null)
            throw new UsageException($"{c.NameOf(profile.Trace is not null ? "Profile:Trace" : "Profile:Report")}: bench {c.NameOf("Bench:Stage")} ingest runs no pipeline to trace or report on; use --stage all");
        var registration = MethodRegistry.Get(c.Bind<TrainingOptions>("Training").Method);
        if (registration.Data != MethodData.Images)
            throw new UsageException($"{c.NameOf("Training:Method")}: {registration.Name} trains on {registration.Data.ToString().ToLowerInvariant()}; bench measures the image pipeline.");
        var methodOptions = c.Config.Bind(registration);
        // The tokenizer the workers run: the method's own (clip), or with --captions clip's for a method that reads no text.
        var clip = MethodRegistry.Get("clip");
        var tokenizer = bench.Captions switch
        {
            false => null,
            true => registration.Captions(methodOptions) ?? clip.Captions(c.Config.Bind(clip)),
            null => registration.Captions(methodOptions),
        };
        if (bench.Stage == "ingest" && bench.Captions == true)
            throw new UsageException($"{c.NameOf("Bench:Captions")}: bench {c.NameOf("Bench:Stage")} ingest hands the encoded bytes on and tokenizes nothing; use --stage all");
        var data = c.Bind<DataOptions>("Data");
        data.RequireOneSource("bench");
        var decoders = c.Decoders();
        string uri = tokenizer is null ? await DemoDataset.EnsureAsync(data, c.Say, ct).ConfigureAwait(false)
            : await DemoDataset.EnsureCaptionsAsync(data, c.Say, ct).ConfigureAwait(false);
        var augment = c.Bind<AugmentOptions>("Augment");
        var policy = registration.ImageViews(methodOptions, new ViewSettings(augment, c.Bind<MultiCropOptions>("MultiCrop")))!;
        return new BenchSettings(uri, data, c.Bind<BatchingOptions>("Batching"), bench, profile, policy, decoders, augment.DecodeScaling)
        {
            Captions = tokenizer,
            CaptionsBy = bench.Captions == true ? c.NameOf("Bench:Captions") : $"{c.NameOf("Training:Method")} {registration.Name}",
            TextColumnOption = c.NameOf("Data:TextColumn"),
            ObjectStore = c.ObjectStore.WithCache(data.Cache()),
        };
    }
}
