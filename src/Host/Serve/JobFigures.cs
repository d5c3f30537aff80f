using System.Collections.Concurrent;
using System.Text.Json;
using Contrastive.Ingest;
using Contrastive.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Contrastive.Host.Serve;

/// <summary>A running job's latest figures, updated from its training thread.</summary>
public sealed class JobFigures
{
    public long Step { get; set; }
    public double? Loss { get; set; }
    public double? LearningRate { get; set; }
    public double? ImagesPerSec { get; set; }
    public double? Starvation { get; set; }
    public double? EtaSeconds { get; set; }
}
