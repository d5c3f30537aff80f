namespace Contrastive.Host.Serve;

/// <summary>The states a job goes through.</summary>
internal static class JobStates
{
    public const string Queued = "queued", Running = "running", Succeeded = "succeeded", Failed = "failed", Cancelled = "cancelled", Interrupted = "interrupted", Preempted = "preempted";

    public static readonly string[] All = [Queued, Running, Succeeded, Failed, Cancelled, Interrupted, Preempted];

    public static bool IsFinal(string state) => state is Succeeded or Failed or Cancelled;
}
