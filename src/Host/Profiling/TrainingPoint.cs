using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Contrastive.Host.Assets;

namespace Contrastive.Host;

/// <summary>A training run's figures at one step, from its metrics.jsonl.</summary>
public sealed record TrainingPoint(long Step, double Seconds, double? Loss, double? LearningRate, double? SamplesPerSec, double? Starvation);
