namespace Contrastive.Batching;

/// <summary>How full each bounded queue is: items waiting / capacity.</summary>
public readonly record struct QueueOccupancy(int Chunks, int ChunkCapacity, int WorkerInput, int WorkerCapacity, int Prefetch, int PrefetchCapacity, int LeasesOut, int Leases);
