using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Contrastive.Augment;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// A method as the registry knows it: name, data, views, label needs, its options (configuration section and defaults)
/// and how to build it. One per method folder; <see cref="MethodRegistry"/> lists them.
/// </summary>
public abstract class MethodRegistration
{
    /// <summary>The name users give (--method, Training:Method, checkpoints).</summary>
    public abstract string Name { get; }

    /// <summary>One line on what the method does, with its paper.</summary>
    public abstract string Summary { get; }

    public abstract MethodData Data { get; }

    /// <summary>True when every sample needs a label (SupCon).</summary>
    public virtual bool NeedsLabels => false;

    /// <summary>The configuration section of the method's options (e.g. "Moco").</summary>
    public abstract string Section { get; }

    /// <summary>The options class bound from <see cref="Section"/>.</summary>
    public abstract Type OptionsType { get; }

    /// <summary>A new options object with the defaults.</summary>
    public abstract object NewOptions();

    /// <summary>Whether <see cref="GradCache"/> gives this method's full-batch gradient (the method is an <see cref="IRepresentationLoss"/>).</summary>
    public virtual bool SupportsGradCache => false;

    /// <summary>Images: the view policy the method needs (BYOL: its asymmetric pair; DINO: multi-crop). Series methods: null.</summary>
    public virtual IViewPolicy? ImageViews(object options, ViewSettings views) => null;

    /// <summary>
    /// The caption encoder (tokenizer) the input pipeline's workers run on each sample's caption, for methods that read
    /// text with their images (CLIP); null (the default): the method reads no text.
    /// </summary>
    public virtual ICaptionEncoder? Captions(object options) => null;

    /// <summary>
    /// The command-line flags the method adds to `train` (and, when <see cref="MethodFlag.Captions"/>, to `bench`), each
    /// setting one configuration key; the service's job specs take them too. Declared here so a new method never edits the CLI.
    /// </summary>
    public virtual IReadOnlyList<MethodFlag> Flags => [];

    /// <summary>The views, in words, for `contrastive methods`.</summary>
    public abstract string ViewsDescription { get; }

    /// <summary>Builds the method's networks on the context's device, initialised from the run's seed.</summary>
    public abstract IContrastiveMethod Create(MethodContext context);

    /// <summary>The options' defaults as JSON (property name → value), for `contrastive methods --json`.</summary>
    public JsonElement DefaultsJson() => JsonSerializer.SerializeToElement(NewOptions(), OptionsType);

    /// <summary>Validates options by their DataAnnotations; the messages name the setting as Section:Property.</summary>
    public IReadOnlyList<string> Validate(object options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results.Select(r => $"{Section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}").ToList();
    }

    /// <summary>Options as stored in a checkpoint (JSON), so evaluation and resume rebuild the same networks.</summary>
    public string SerializeOptions(object options) => JsonSerializer.Serialize(options, OptionsType);

    /// <summary>Options read back from <see cref="SerializeOptions"/>'s JSON; null JSON gives the defaults.</summary>
    public object DeserializeOptions(string? json) =>
        json is null ? NewOptions() : JsonSerializer.Deserialize(json, OptionsType) ?? NewOptions();
}

/// <summary>A registration whose options are <typeparamref name="TOptions"/>.</summary>
public abstract class MethodRegistration<TOptions> : MethodRegistration where TOptions : class, new()
{
    public sealed override Type OptionsType => typeof(TOptions);

    public sealed override object NewOptions() => new TOptions();

    public sealed override IViewPolicy? ImageViews(object options, ViewSettings views) => Views((TOptions)options, views);

    public sealed override IContrastiveMethod Create(MethodContext context) => Create(context, (TOptions)context.Options);

    public sealed override ICaptionEncoder? Captions(object options) => CaptionEncoder((TOptions)options);

    protected virtual ICaptionEncoder? CaptionEncoder(TOptions options) => null;

    protected virtual IViewPolicy? Views(TOptions options, ViewSettings views) => null;

    protected abstract IContrastiveMethod Create(MethodContext context, TOptions options);
}
