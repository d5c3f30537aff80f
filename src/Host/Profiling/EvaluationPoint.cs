namespace Contrastive.Host;

/// <summary>An evaluation's result (eval/… in metrics.jsonl) at a step.</summary>
internal sealed record EvaluationPoint(long Step, double Seconds, string Name, double Value);
