namespace Contrastive.Batching;

/// <summary>More samples were undecodable than the error budget allows; the message gives counts and examples.</summary>
public sealed class BadSampleBudgetException(string message) : Exception(message);
