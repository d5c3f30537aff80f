using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>The parts of data-parallel training that one process can check: launcher detection, the global loss against the single-process losses, NCCL's id and fallback.</summary>
public sealed class DistributedPiecesTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] vars) => n => vars.FirstOrDefault(v => v.Name == n).Value;

    [Fact]
    public void Launchers_are_detected_from_their_own_variables_in_order()
    {
        Assert.Equal(LaunchEnvironment.Single, LaunchEnvironment.Detect(Env()));
        Assert.Equal(new LaunchEnvironment("mpirun", 1, 4, 1),
            LaunchEnvironment.Detect(Env(("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_LOCAL_RANK", "1"), ("WORLD_SIZE", "9"))));
        Assert.Equal(new LaunchEnvironment("srun", 3, 8, 1),
            LaunchEnvironment.Detect(Env(("SLURM_STEP_ID", "0"), ("SLURM_PROCID", "3"), ("SLURM_STEP_NUM_TASKS", "8"), ("SLURM_NTASKS", "16"), ("SLURM_LOCALID", "1"))));
        // A batch script's own process (no job step) is not a rank.
        Assert.Equal(LaunchEnvironment.Single, LaunchEnvironment.Detect(Env(("SLURM_PROCID", "0"), ("SLURM_NTASKS", "16"))));
        Assert.Equal(new LaunchEnvironment("RANK/WORLD_SIZE", 1, 2, 0), LaunchEnvironment.Detect(Env(("RANK", "1"), ("WORLD_SIZE", "2"))));
        Assert.True(LaunchEnvironment.Detect(Env(("RANK", "1"), ("WORLD_SIZE", "2"))).Distributed);
        var bad = Assert.Throws<DistributedSetupException>(() => LaunchEnvironment.Detect(Env(("RANK", "2"), ("WORLD_SIZE", "2"))));
        Assert.Contains("RANK=2 is outside a world of WORLD_SIZE=2", bad.Message);
        Assert.Contains("OMPI_COMM_WORLD_SIZE='two'", Assert.Throws<DistributedSetupException>(() => LaunchEnvironment.Detect(Env(("OMPI_COMM_WORLD_SIZE", "two")))).Message);
    }

    [Fact]
    public void The_global_loss_of_one_process_is_nt_xent_for_instance_keys_and_supcon_for_labels()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        int n = 6;
        var z = randn(2 * n, 4, dtype: ScalarType.Float64);
        var instance = tensor(Enumerable.Range(0, 2).SelectMany(_ => Enumerable.Range(0, n).Select(i => -1L - i)).ToArray());
        double global = GlobalContrastLoss.Compute(z, instance, 0, 2 * n, 0.5, 1).ToDouble();
        double ntxent = new NtXentLoss(0.5).Compute(z.narrow(0, 0, n), z.narrow(0, n, n)).ToDouble();
        Assert.Equal(ntxent, global, 12);

        var labels = tensor(Enumerable.Range(0, 2).SelectMany(_ => Enumerable.Range(0, n).Select(i => (long)(i % 3))).ToArray());
        Assert.Equal(new SupConLoss(0.2).Compute(z, labels).ToDouble(), GlobalContrastLoss.Compute(z, labels, 0, 2 * n, 0.2, 1).ToDouble(), 12);

        // A rank's share: its anchors' sum, scaled so that the ranks' mean is the whole batch's loss.
        var all = cat([z, z.flip(0)], 0);
        var keys = cat([labels, labels.flip(0)], 0);
        double whole = GlobalContrastLoss.Compute(all, keys, 0, 4 * n, 0.2, 1).ToDouble();
        double rank0 = GlobalContrastLoss.Compute(all, keys, 0, 2 * n, 0.2, 2).ToDouble();
        double rank1 = GlobalContrastLoss.Compute(all, keys, 2 * n, 2 * n, 0.2, 2).ToDouble();
        Assert.Equal(whole, (rank0 + rank1) / 2, 12);
    }

    [Fact]
    public void Instance_keys_are_made_distinct_across_ranks_and_labels_are_kept()
    {
        var keys = GlobalBatch.GlobalKeys(SingleProcessGroup.Instance, [-1, -2, 7], CPU).data<long>().ToArray();
        Assert.Equal(new long[] { -1, -2, 7 }, keys);
    }

    [Fact]
    public void One_process_groups_pass_values_through_and_byte_helpers_keep_lengths()
    {
        var g = SingleProcessGroup.Instance;
        Span<float> v = [1f, 2f];
        g.AllReduce(v, ReduceOp.Max);
        Assert.Equal([1f, 2f], v.ToArray());
        var gathered = g.AllGatherBytes([1, 2, 3]);
        Assert.Single(gathered);
        Assert.Equal(new byte[] { 1, 2, 3 }, gathered[0]);
        Assert.Equal(new byte[] { 9 }, g.BroadcastBytes([9]));
        Assert.False(g.Any(false));
        Assert.True(g.Any(true));
        using var t = tensor(new[] { 1.0, 2.0 });
        using var all = g.AllGather(t);
        Assert.Equal(new[] { 1.0, 2.0 }, all.data<double>().ToArray());
    }

    [Fact]
    public void Nccl_ids_are_128_bytes_that_survive_the_broadcast_and_cpu_runs_fall_back_to_mpi()
    {
        Assert.Equal(128, Unsafe.SizeOf<NcclUniqueId>());
        var bytes = Enumerable.Range(0, 128).Select(i => (byte)(i * 7 + 3)).ToArray();
        var id = NcclUniqueId.FromBytes(bytes);
        Assert.Equal(bytes, NcclCommunicator.ShareId(SingleProcessGroup.Instance, id).ToBytes());
        Assert.Throws<ArgumentException>(() => NcclUniqueId.FromBytes(new byte[64]));

        Assert.Null(NcclCommunicator.TryCreate(SingleProcessGroup.Instance, CPU, out string reason, () => true));
        Assert.Contains("one process", reason);
    }

    [Fact]
    public void Open_mpi_is_installed_for_the_distributed_tests()
    {
        Assert.True(MpiProcessGroup.Available(), $"{MpiProcessGroup.Library} does not load: {MpiProcessGroup.InstallHint}");
    }
}
