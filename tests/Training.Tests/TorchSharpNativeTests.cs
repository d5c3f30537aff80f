using Contrastive.Build;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

public class TorchSharpNativeTests
{
    [Fact]
    public void TorchSharp_loads_and_runs_a_backward_pass()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3 }, requires_grad: true);
        var y = (x * x).sum();
        y.backward();
        Assert.Equal(new float[] { 2, 4, 6 }, x.grad!.data<float>().ToArray());
    }

    [Fact]
    public void The_output_copy_is_patched_only_when_the_host_lacks_the_version_and_the_package_cache_is_untouched()
    {
        string output = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        if (!File.Exists(output)) output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), $"TorchSharp native library not found next to the tests ({AppContext.BaseDirectory})");

        string? host = ElfVersioning.FindHostLibStdCxx();
        bool hostHas = host is not null && ElfVersioning.DefinedVersions(File.ReadAllBytes(host)).Contains("GLIBCXX_3.4.32");
        var outputState = ElfVersioning.MarkVersionNeedWeak(File.ReadAllBytes(output), "libstdc++.so.6", "GLIBCXX_3.4.32", dryRun: true);
        Assert.Equal(hostHas ? ElfPatchResult.Patched : ElfPatchResult.AlreadyWeak, outputState);

        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string cached = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cached), $"package cache copy not found at {cached}");
        Assert.Equal(ElfPatchResult.Patched, ElfVersioning.MarkVersionNeedWeak(File.ReadAllBytes(cached), "libstdc++.so.6", "GLIBCXX_3.4.32", dryRun: true));
    }
}

public class ElfVersioningTests
{
    /// <summary>A minimal ELF64 with a .dynstr and a .gnu.version_r requiring two versions of libstdc++.so.6 and one of libc.so.6.</summary>
    internal static byte[] SyntheticElf()
    {
        var strtab = new List<byte> { 0 };
        int Str(string s) { int at = strtab.Count; strtab.AddRange(System.Text.Encoding.ASCII.GetBytes(s)); strtab.Add(0); return at; }
        int libstd = Str("libstdc++.so.6"), libc = Str("libc.so.6"), v30 = Str("GLIBCXX_3.4.30"), v32 = Str("GLIBCXX_3.4.32"), g234 = Str("GLIBC_2.34");

        var need = new List<byte>();
        void U16(int v) { need.Add((byte)v); need.Add((byte)(v >> 8)); }
        void U32(int v) { U16(v & 0xFFFF); U16((v >> 16) & 0xFFFF); }
        // Verneed 1: libc, 1 aux, next = 16 + 16
        U16(1); U16(1); U32(libc); U32(16); U32(32);
        U32(0x1234); U16(0); U16(2); U32(g234); U32(0);
        // Verneed 2: libstdc++, 2 aux
        U16(1); U16(2); U32(libstd); U32(16); U32(0);
        U32(0x1111); U16(0); U16(3); U32(v30); U32(16);
        U32(0x2222); U16(0); U16(4); U32(v32); U32(0);

        int strOff = 64, needOff = strOff + strtab.Count, shOff = needOff + need.Count;
        var elf = new byte[shOff + 3 * 64];
        elf[0] = 0x7f; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F'; elf[4] = 2; elf[5] = 1; elf[6] = 1;
        BitConverter.TryWriteBytes(elf.AsSpan(0x28), (long)shOff);
        BitConverter.TryWriteBytes(elf.AsSpan(0x3A), (ushort)64);
        BitConverter.TryWriteBytes(elf.AsSpan(0x3C), (ushort)3);
        strtab.ToArray().CopyTo(elf, strOff);
        need.ToArray().CopyTo(elf, needOff);
        void Section(int i, uint type, long off, long size, uint link, uint info)
        {
            var s = elf.AsSpan(shOff + i * 64);
            BitConverter.TryWriteBytes(s[4..], type);
            BitConverter.TryWriteBytes(s[24..], off);
            BitConverter.TryWriteBytes(s[32..], size);
            BitConverter.TryWriteBytes(s[40..], link);
            BitConverter.TryWriteBytes(s[44..], info);
        }
        Section(1, 3, strOff, strtab.Count, 0, 0);
        Section(2, ElfVersioning.ShtGnuVerneed, needOff, need.Count, 1, 2);
        return elf;
    }

    [Fact]
    public void Marks_only_the_named_requirement_weak()
    {
        var elf = SyntheticElf();
        var before = (byte[])elf.Clone();
        Assert.Equal(ElfPatchResult.Patched, ElfVersioning.MarkVersionNeedWeak(elf, "libstdc++.so.6", "GLIBCXX_3.4.32", dryRun: true));
        Assert.Equal(before, elf); // a dry run changes nothing
        Assert.Equal(ElfPatchResult.Patched, ElfVersioning.MarkVersionNeedWeak(elf, "libstdc++.so.6", "GLIBCXX_3.4.32", dryRun: false));
        var diff = Enumerable.Range(0, elf.Length).Where(i => elf[i] != before[i]).ToArray();
        Assert.Single(diff);
        Assert.Equal(ElfVersioning.VerFlgWeak, elf[diff[0]]);
        Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersioning.MarkVersionNeedWeak(elf, "libstdc++.so.6", "GLIBCXX_3.4.32", dryRun: false));
        Assert.Equal(ElfPatchResult.VersionNotRequired, ElfVersioning.MarkVersionNeedWeak(elf, "libstdc++.so.6", "GLIBCXX_3.4.99", dryRun: false));
        Assert.Equal(ElfPatchResult.VersionNotRequired, ElfVersioning.MarkVersionNeedWeak(elf, "libc.so.6", "GLIBCXX_3.4.32", dryRun: false));
        Assert.Equal(ElfPatchResult.NotElf64LittleEndian, ElfVersioning.MarkVersionNeedWeak(new byte[100], "libstdc++.so.6", "GLIBCXX_3.4.32", dryRun: false));
    }

    [Fact]
    public void Patching_a_file_rewrites_it_through_a_new_inode()
    {
        string dir = Path.Combine(Path.GetTempPath(), "elf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string original = Path.Combine(dir, "cache.so"), copy = Path.Combine(dir, "out.so");
            File.WriteAllBytes(original, SyntheticElf());
            File.CreateSymbolicLink(copy, original); // stands for a link into a package cache
            // A host library that lacks the version: the synthetic ELF defines none.
            var result = ElfVersioning.PatchFileIfHostLacks(copy, "libstdc++.so.6", "GLIBCXX_3.4.32", original, out _);
            Assert.Equal(ElfPatchResult.Patched, result);
            Assert.Equal(SyntheticElf(), File.ReadAllBytes(original)); // the linked file is untouched
            Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersioning.MarkVersionNeedWeak(File.ReadAllBytes(copy), "libstdc++.so.6", "GLIBCXX_3.4.32", true));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Reads_the_versions_the_host_libstdcxx_defines()
    {
        string? host = ElfVersioning.FindHostLibStdCxx();
        Assert.NotNull(host);
        var versions = ElfVersioning.DefinedVersions(File.ReadAllBytes(host!));
        Assert.Contains("GLIBCXX_3.4", versions);
        Assert.Contains("GLIBCXX_3.4.21", versions);
    }
}
