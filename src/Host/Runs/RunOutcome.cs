namespace Contrastive.Host;

/// <summary>Where the hosted run leaves its outcome for the program to print and turn into an exit code.</summary>
internal sealed class RunOutcome
{
    public TrainResult? Result { get; set; }

    public Exception? Error { get; set; }
}
