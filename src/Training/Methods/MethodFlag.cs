namespace Contrastive.Training;

/// <summary>A command-line flag a method declares: <c>--moco-queue</c> sets <c>Moco:Queue</c>.</summary>
/// <param name="Name">The flag, with its dashes.</param>
/// <param name="Key">The configuration key it sets ("Section:Property"); the property's type is the flag's.</param>
/// <param name="Description">Help text; the default is added from the options class.</param>
/// <param name="Captions">True when the flag shapes the caption tokens, so `bench --captions` takes it too.</param>
public sealed record MethodFlag(string Name, string Key, string Description, bool Captions = false);
