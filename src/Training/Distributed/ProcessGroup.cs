namespace Contrastive.Training;

/// <summary>How <see cref="IProcessGroup.AllReduce{T}"/> combines the ranks' values.</summary>
public enum ReduceOp { Sum, Max, Min }
