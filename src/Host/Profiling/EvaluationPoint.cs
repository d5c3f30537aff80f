using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Contrastive.Host.Assets;

namespace Contrastive.Host;

/// <summary>An evaluation's result (eval/… in metrics.jsonl) at a step.</summary>
public sealed record EvaluationPoint(long Step, double Seconds, string Name, double Value);
