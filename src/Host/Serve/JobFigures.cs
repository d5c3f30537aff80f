namespace Contrastive.Host.Serve;

/// <summary>A running job's latest figures, updated from its training thread.</summary>
internal sealed class JobFigures
{
    public long Step { get; set; }
    public double? Loss { get; set; }
    public double? LearningRate { get; set; }
    public double? ImagesPerSec { get; set; }
    public double? Starvation { get; set; }
    public double? EtaSeconds { get; set; }
    public int? Epoch { get; set; }
    public long? BadSamples { get; set; }
    public long? StoreRequests { get; set; }
    public long? StoreRetries { get; set; }
    public long? BytesFetched { get; set; }
    public long? CacheHits { get; set; }
    public long? CacheMisses { get; set; }
    public long? CacheBytes { get; set; }
}
