using System.Diagnostics;
using System.Text.Json;
using Contrastive.Tests.Shared;

namespace Contrastive.Host.Tests;

/// <summary>
/// `mpirun -np 2 contrastive train` for real (Open MPI from openmpi-bin): ranks read disjoint parts of Parquet shards and
/// end with the same parameters; SIGTERM to one rank stops both at one step with one checkpoint; `--resume` under mpirun
/// continues from it; a resume with another number of processes deals what the earlier ranks left of the epoch over the new
/// ones; a world without a launcher is refused with a clear message.
/// </summary>
public sealed class DistributedTrainTests() : TempFolderTest("ddp")
{
    private static string Dll => Path.Combine(AppContext.BaseDirectory, "contrastive.dll");

    private static string[] Train(string data, string run, params string[] more) =>
        ["train", "--data", data, "--out", run, "--batch-size", "8", "--workers", "1", "--threads", "1", "--json", .. more];

    private static JsonElement Result(string logs, int rank)
    {
        string stdout = Mpirun.RankOutput(logs, rank, "stdout");
        string line = stdout.Split('\n').Select(l => l.Trim()).Last(l => l.Contains("{\"steps\"", StringComparison.Ordinal));
        return JsonDocument.Parse(line[line.IndexOf('{')..]).RootElement;
    }

    private static JsonElement CheckpointHeader(string path)
    {
        var info = Contrastive.Training.CheckpointStore.Read(path).Info;
        return JsonSerializer.SerializeToElement(info);
    }

    [Fact]
    public async Task Two_ranks_train_alike_stop_together_on_sigterm_to_one_and_resume_under_mpirun()
    {
        string data = Path.Combine(Folder, "data"), run = Path.Combine(Folder, "run"), logs1 = Path.Combine(Folder, "logs1"), logs2 = Path.Combine(Folder, "logs2");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "600", "--width", "40", "--height", "40");
        Assert.True(code == 0, err);

        // 1. A long run, stopped by SIGTERM to rank 1 alone once it has trained a few steps.
        using (var job = Mpirun.Start(2, Dll, Train(data, run, "--max-minutes", "10", "--checkpoint-every", "0"), Folder, logs1))
        {
            string metrics = Path.Combine(run, "metrics.jsonl");
            var deadline = Stopwatch.StartNew();
            while (!(File.Exists(metrics) && File.ReadLines(metrics).Count() >= 5))
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(2) && !job.Process.HasExited, $"no steps within 2 min\n{job.Output}\n{job.Error}");
                await Task.Delay(200);
            }
            var ranks = Mpirun.RankProcesses(job.Process);
            Assert.True(ranks.ContainsKey(1), $"rank processes: {string.Join(", ", ranks)}");
            using (var kill = Process.Start("kill", ["-TERM", ranks[1].ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            var (exit, output, error) = await job.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, $"mpirun exit {exit}\n{output}\n{error}");
        }
        var (r0, r1) = (Result(logs1, 0), Result(logs1, 1));
        long steps = r0.GetProperty("steps").GetInt64();
        Assert.True(steps >= 5, r0.ToString());
        foreach (var (r, rank) in new[] { (r0, 0), (r1, 1) })
        {
            Assert.Equal(rank, r.GetProperty("rank").GetInt32());
            Assert.Equal(2, r.GetProperty("world_size").GetInt32());
            Assert.Equal(16, r.GetProperty("global_batch_size").GetInt32());
            Assert.True(r.GetProperty("interrupted").GetBoolean());
            Assert.Equal(steps, r.GetProperty("steps").GetInt64());
        }
        Assert.Equal(r0.GetProperty("parameter_checksum").GetString(), r1.GetProperty("parameter_checksum").GetString());
        var checkpoints = Directory.GetFiles(run, "*.ckpt");
        Assert.Equal([Path.Combine(run, $"ckpt-{steps:D9}.ckpt")], checkpoints);
        var header = CheckpointHeader(checkpoints[0]);
        Assert.Equal(2, header.GetProperty("WorldSize").GetInt32());
        // Rank r reads the read units at positions r, r + 2, … of each epoch's shuffled order: disjoint samples.
        var cursors = header.GetProperty("RankCursors").EnumerateArray().ToArray();
        Assert.Equal(2, cursors.Length);
        for (int rank = 0; rank < 2; rank++) Assert.Equal(rank, cursors[rank].GetProperty("Unit").GetInt32() % 2);
        string log0 = Mpirun.RankOutput(logs1, 0, "stderr"), log1 = Mpirun.RankOutput(logs1, 1, "stderr");
        Assert.Contains("Data parallel: world size 2", log0);
        Assert.Contains("Stop requested on another rank", log0);
        Assert.DoesNotContain("Training simclr", log1); // the other ranks log less

        // 2. --resume under mpirun continues from that checkpoint on both ranks.
        var (code2, out2, err2) = await Mpirun.Run(2, Dll, Train(data, run, "--max-steps", (steps + 3).ToString(System.Globalization.CultureInfo.InvariantCulture), "--resume"),
            TimeSpan.FromMinutes(3), Folder, logs2);
        Assert.True(code2 == 0, $"mpirun exit {code2}\n{out2}\n{err2}");
        var (s0, s1) = (Result(logs2, 0), Result(logs2, 1));
        foreach (var s in new[] { s0, s1 })
        {
            Assert.Equal(steps, s.GetProperty("resumed_from_step").GetInt64());
            Assert.Equal(steps + 3, s.GetProperty("steps").GetInt64());
            Assert.False(s.GetProperty("interrupted").GetBoolean());
        }
        Assert.Equal(s0.GetProperty("parameter_checksum").GetString(), s1.GetProperty("parameter_checksum").GetString());
        Assert.NotEqual(r0.GetProperty("parameter_checksum").GetString(), s0.GetProperty("parameter_checksum").GetString());
        Assert.Equal(JsonValueKind.Number, s0.GetProperty("knn_top1").ValueKind); // rank 0 evaluates
        Assert.Equal(JsonValueKind.Null, s1.GetProperty("knn_top1").ValueKind);

        // 3. One process takes over what the two ranks left of the epoch (dealt anew: every sample of it once, which
        //    ReadCursorTests counts), and its checkpoint keeps the two ranks' places until that epoch is read.
        string Steps(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (code3, out3, err3) = await CliRunner.Run(["train", "--data", data, "--out", run, "--max-steps", Steps(steps + 6), "--max-minutes", "0", "--resume",
            "--batch-size", "8", "--workers", "1", "--threads", "1", "--json"]);
        Assert.True(code3 == 0, err3);
        Assert.Contains("The checkpoint was written by 2 process(es), this run has 1: what they left of epoch 0 is dealt over the 1", err3);
        var one = JsonDocument.Parse(out3.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(steps + 6, one.GetProperty("steps").GetInt64());
        Assert.Equal(steps + 3, one.GetProperty("resumed_from_step").GetInt64());
        var third = CheckpointHeader(Path.Combine(run, $"ckpt-{steps + 6:D9}.ckpt"));
        Assert.Equal(1, third.GetProperty("WorldSize").GetInt32());
        Assert.Equal(2, third.GetProperty("Reshard").GetProperty("WorldSize").GetInt32());

        // 4. Two processes may not take that over again before the epoch is read: its places belong to the one.
        var (code4, out4, err4) = await Mpirun.Run(2, Dll, Train(data, run, "--max-steps", Steps(steps + 9), "--resume"), TimeSpan.FromMinutes(3), Folder, Path.Combine(Folder, "logs4"));
        Assert.NotEqual(0, code4);
        Assert.Contains("still reading what 2 left of epoch 0", out4 + err4 + Mpirun.RankOutput(Path.Combine(Folder, "logs4"), 0, "stderr"));

        // 5. A one-process run, stopped inside its first epoch, resumes on two ranks, which share what it left.
        string single = Path.Combine(Folder, "single"), logs5 = Path.Combine(Folder, "logs5");
        var (code5, _, err5) = await CliRunner.Run(["train", "--data", data, "--out", single, "--max-steps", "4", "--max-minutes", "0",
            "--batch-size", "8", "--workers", "1", "--threads", "1"]);
        Assert.True(code5 == 0, err5);
        var (code6, out6, err6) = await Mpirun.Run(2, Dll, Train(data, single, "--max-steps", "7", "--resume"),
            TimeSpan.FromMinutes(3), Folder, logs5);
        Assert.True(code6 == 0, $"mpirun exit {code6}\n{out6}\n{err6}");
        Assert.Contains("The checkpoint was written by 1 process(es), this run has 2", Mpirun.RankOutput(logs5, 0, "stderr"));
        var (u0, u1) = (Result(logs5, 0), Result(logs5, 1));
        Assert.Equal(4, u0.GetProperty("resumed_from_step").GetInt64());
        Assert.Equal(7, u1.GetProperty("steps").GetInt64());
        Assert.Equal(u0.GetProperty("parameter_checksum").GetString(), u1.GetProperty("parameter_checksum").GetString());
    }

    [Theory]
    [InlineData("moco")]
    [InlineData("byol")]
    [InlineData("dino")]
    [InlineData("supcon", "--sync-batchnorm", "--grad-cache-chunk", "8")]
    [InlineData("cpc")]
    [InlineData("clip", "--text-width", "32", "--text-layers", "1", "--context-length", "32")]
    [InlineData("simcse", "--context-length", "32")]
    public async Task Every_method_trains_the_same_parameters_on_both_ranks(string method, params string[] more)
    {
        string data = Path.Combine(Folder, "data"), logs = Path.Combine(Folder, "logs");
        bool series = method == "cpc", captions = method is "clip" or "simcse";
        var (code, _, err) = series
            ? await CliRunner.Run("demo-data", "--kind", "series", "--output", data, "--count", "120", "--length", "2000")
            : await CliRunner.Run("demo-data", "--kind", captions ? "captions" : "images", "--output", data, "--count", "300", "--width", "40", "--height", "40");
        Assert.True(code == 0, err);
        string[] args = [.. Train(data, Path.Combine(Folder, "run"), ["--method", method, "--max-steps", "4", .. more]), .. series ? ["--window", "640"] : Array.Empty<string>()];
        var (exit, output, error) = await Mpirun.Run(2, Dll, args, TimeSpan.FromMinutes(3), Folder, logs);
        Assert.True(exit == 0, $"mpirun exit {exit}\n{output}\n{error}\n{(Directory.Exists(logs) ? Mpirun.RankOutput(logs, 0, "stderr") : "")}");
        var (r0, r1) = (Result(logs, 0), Result(logs, 1));
        Assert.Equal(4, r0.GetProperty("steps").GetInt64());
        Assert.Equal(4, r1.GetProperty("steps").GetInt64());
        Assert.Equal(r0.GetProperty("parameter_checksum").GetString(), r1.GetProperty("parameter_checksum").GetString());
        Assert.Equal(r0.GetProperty("final_loss").GetDouble(), r1.GetProperty("final_loss").GetDouble());
        if (more.Contains("--sync-batchnorm")) Assert.Contains("BatchNorm synchronised", Mpirun.RankOutput(logs, 0, "stderr"));
        if (method == "clip") Assert.InRange(r0.GetProperty("retrieval").GetProperty("i2t_r1").GetDouble(), 0, 1); // rank 0 evaluates both towers
    }

    [Fact]
    public async Task Each_rank_writes_its_trace_with_the_collectives_and_rank_0_the_report()
    {
        string data = Path.Combine(Folder, "data"), run = Path.Combine(Folder, "run"), trace = Path.Combine(Folder, "t.json"), logs = Path.Combine(Folder, "logs");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "200", "--width", "40", "--height", "40");
        Assert.True(code == 0, err);
        var (exit, output, error) = await Mpirun.Run(2, Dll, Train(data, run, "--max-steps", "4", "--trace", trace), TimeSpan.FromMinutes(3), Folder, logs);
        Assert.True(exit == 0, $"mpirun exit {exit}\n{output}\n{error}");
        foreach (var file in new[] { trace, Path.Combine(Folder, "t.rank1.json") })
        {
            Assert.True(File.Exists(file), $"no trace {file}");
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            var names = doc.RootElement.GetProperty("traceEvents").EnumerateArray()
                .Where(e => e.TryGetProperty("name", out _)).Select(e => e.GetProperty("name").GetString()).ToHashSet();
            Assert.Contains("gradient all-reduce", names);
            Assert.Contains("agree (all-reduce)", names);
            Assert.Contains("forward + backward (global negatives)", names);
        }
        Assert.True(File.Exists(Path.Combine(run, "report.html")));
        Assert.NotNull(Result(logs, 0).GetProperty("report").GetString());
        Assert.Equal(JsonValueKind.Null, Result(logs, 1).GetProperty("report").ValueKind);
    }

    [Fact]
    public async Task A_rank_that_fails_ends_every_rank_instead_of_leaving_them_waiting()
    {
        string data = Path.Combine(Folder, "data");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", data, "--count", "200", "--width", "40", "--height", "40");
        Assert.True(code == 0, err);
        // Rank 1 is given data that does not exist: it fails after joining the world, while rank 0 waits in a collective.
        using var job = Mpirun.Start([(1, Dll, Train(data, Path.Combine(Folder, "run"), "--max-steps", "50")),
            (1, Dll, Train(Path.Combine(Folder, "missing"), Path.Combine(Folder, "run"), "--max-steps", "50"))], Folder);
        var (exit, output, error) = await job.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.NotEqual(0, exit);
        Assert.Contains("Rank 1 of 2 failed", error);
        Assert.Contains("Ending every rank", error);
        Assert.DoesNotContain("\"steps\"", output); // rank 0 did not go on alone
    }

    [Theory]
    [InlineData(null, "MPI sees a world of 1, not 2")]
    [InlineData("/nonexistent/libmpi.so.40", "apt-get install openmpi-bin")]
    public async Task A_world_without_a_launcher_or_without_open_mpi_is_a_clear_error(string? library, string expected)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Dll, "train", "--data", Path.Combine(Folder, "none"), "--out", Path.Combine(Folder, "run"), "--max-steps", "1" }) psi.ArgumentList.Add(a);
        psi.Environment["WORLD_SIZE"] = "2";
        psi.Environment["RANK"] = "0";
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("OMPI_", StringComparison.Ordinal) || k.StartsWith("SLURM_", StringComparison.Ordinal)).ToArray())
            psi.Environment.Remove(name);
        if (library is not null) psi.Environment["CONTRASTIVE_MPI_LIBRARY"] = library;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        try { await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1)); }
        finally { if (!p.HasExited) p.Kill(entireProcessTree: true); }
        string err = await stderr;
        Assert.Equal(2, p.ExitCode);
        Assert.Contains(expected, err);
        Assert.Contains("rank 0 of 2", err);
    }
}
