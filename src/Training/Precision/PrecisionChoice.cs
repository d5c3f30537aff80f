using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// What the encoder and heads compute in, and why: the setting <c>Training:Precision</c> resolved for a device, an encoder
/// and the CPU's bf16 instructions (<see cref="Decide"/>). The training log prints it ("bf16 (auto: the CPU has AMX-BF16)").
/// </summary>
/// <param name="Compute">bf16, or null for fp32 throughout (what <see cref="Autocast.Enter"/> takes).</param>
/// <param name="Reason">Why, in words.</param>
public sealed record PrecisionChoice(ScalarType? Compute, string Reason)
{
    /// <summary>"bf16" or "fp32".</summary>
    public string Name => Compute is null ? "fp32" : "bf16";

    /// <summary>The name and the reason: "fp32 (auto: …)".</summary>
    public override string ToString() => $"{Name} ({Reason})";

    /// <summary>
    /// Whether bf16 pays on a CPU with native bf16 for this encoder at the training defaults (batch 128, 32-px views,
    /// 2 threads): measured with <c>perf -- precision</c>, fp32 and bf16 steps alternated on one model (docs/benchmarks.md,
    /// "precision: bf16"). ResNet-18, -34 and -50 ran 1.43×, 1.39× and 1.08× faster in bf16; the small ConvNet 1.0×
    /// (1.01–1.07× in the step, 0.95–1.09× over whole training runs), so auto keeps it in fp32, the exact one.
    /// </summary>
    public static bool PaysOnCpu(string encoder) => encoder is "resnet18" or "resnet34" or "resnet50";

    /// <summary>
    /// The choice for <paramref name="precision"/> ("auto", "fp32" or "bf16"). "auto": bf16 on CUDA; on the CPU, bf16
    /// when the CPU has native bf16 (<paramref name="cpu"/>: AVX512-BF16 or AMX-BF16) and it pays for the encoder
    /// (<see cref="PaysOnCpu"/>), else fp32. <paramref name="encoder"/> null: a model that computes in fp32 whatever the
    /// setting (CPC's, SimCSE's), so auto says fp32.
    /// </summary>
    /// <exception cref="ArgumentException">A precision other than auto, fp32 or bf16.</exception>
    public static PrecisionChoice Decide(string precision, DeviceType device, string? encoder, CpuBf16Features cpu)
    {
        bool cuda = device == DeviceType.CUDA;
        switch (precision)
        {
            case "fp32":
                return new(null, "as set");
            case "bf16":
                return new(ScalarType.BFloat16, cuda || cpu != CpuBf16Features.None
                    ? "as set"
                    : "as set; this CPU has no native bf16 (AVX512-BF16 or AMX-BF16), so it is emulated and likely slower than fp32");
            case "auto":
                if (encoder is null) return new(null, "auto: this method's model computes in fp32");
                if (cuda) return new(ScalarType.BFloat16, "auto: CUDA");
                if (cpu == CpuBf16Features.None) return new(null, "auto: the CPU has no native bf16 (AVX512-BF16 or AMX-BF16)");
                return PaysOnCpu(encoder)
                    ? new(ScalarType.BFloat16, $"auto: the CPU has {cpu.Describe()}")
                    : new(null, $"auto: the CPU has {cpu.Describe()}, but bf16 measured no faster for the {encoder}; --precision bf16 to use it anyway");
            default:
                throw new ArgumentException($"Precision must be auto, fp32 or bf16, not '{precision}'.");
        }
    }
}
