using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Contrastive.Training;

/// <summary>
/// Finds the CPU's native bf16 support: on Linux from the kernel's flags in /proc/cpuinfo (<c>avx512_bf16</c>,
/// <c>amx_bf16</c>: the kernel lists only what it has enabled, so a flag there is usable); elsewhere on x86 from CPUID
/// (leaf 7), trusted only when the runtime says the OS enables AVX-512.
/// </summary>
public static class CpuBf16
{
    private static readonly Lazy<CpuBf16Features> Detected = new(DetectNow);

    /// <summary>This machine's bf16 support, found once per process.</summary>
    public static CpuBf16Features Detect() => Detected.Value;

    /// <summary>The bf16 features named in a set of CPU flags as Linux spells them (<c>avx512_bf16</c>, <c>amx_bf16</c>); case-insensitive.</summary>
    public static CpuBf16Features FromFlags(IEnumerable<string> flags)
    {
        var found = CpuBf16Features.None;
        foreach (string flag in flags)
        {
            if (flag.Equals("avx512_bf16", StringComparison.OrdinalIgnoreCase)) found |= CpuBf16Features.Avx512Bf16;
            else if (flag.Equals("amx_bf16", StringComparison.OrdinalIgnoreCase)) found |= CpuBf16Features.AmxBf16;
        }
        return found;
    }

    /// <summary>
    /// The bf16 features of /proc/cpuinfo's text: the first <c>flags</c> line (x86; every core lists the same). None when
    /// there is no such line (other architectures: ARM's <c>Features</c> line is not read, as bf16 has not been measured there).
    /// </summary>
    public static CpuBf16Features FromCpuInfo(IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            int colon = line.IndexOf(':');
            if (colon < 0 || !line.AsSpan(0, colon).Trim().Equals("flags", StringComparison.Ordinal)) continue;
            return FromFlags(line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        return CpuBf16Features.None;
    }

    /// <summary>In words, for the log: "AMX-BF16 and AVX512-BF16", "AVX512-BF16" or "no native bf16".</summary>
    public static string Describe(this CpuBf16Features features) => features switch
    {
        CpuBf16Features.None => "no native bf16",
        CpuBf16Features.Avx512Bf16 => "AVX512-BF16",
        CpuBf16Features.AmxBf16 => "AMX-BF16",
        _ => "AMX-BF16 and AVX512-BF16",
    };

    private static CpuBf16Features DetectNow()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo")) return FromCpuInfo(File.ReadLines("/proc/cpuinfo"));
            if (RuntimeInformation.ProcessArchitecture is Architecture.X64 && X86Base.IsSupported && Avx512F.IsSupported)
            {
                var found = CpuBf16Features.None;
                if (X86Base.CpuId(0, 0).Eax >= 7)
                {
                    if ((X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0) found |= CpuBf16Features.Avx512Bf16; // CPUID.(7,1):EAX[5] AVX512_BF16
                    if ((X86Base.CpuId(7, 0).Edx & (1 << 22)) != 0) found |= CpuBf16Features.AmxBf16;   // CPUID.(7,0):EDX[22] AMX-BF16
                }
                return found;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return CpuBf16Features.None;
    }
}
