namespace Contrastive.Training;

/// <summary>The CPU's native bfloat16 instructions (what oneDNN, under libtorch, computes bf16 convolutions and matrix products with).</summary>
[Flags]
public enum CpuBf16Features
{
    /// <summary>None: bf16 is emulated through fp32, and slower than fp32.</summary>
    None = 0,

    /// <summary>AVX512-BF16 (Intel Cooper Lake and later, AMD Zen 4 and later): bf16 dot products in AVX-512 registers.</summary>
    Avx512Bf16 = 1,

    /// <summary>AMX-BF16 (Intel Sapphire Rapids and later): bf16 tile matrix multiplication.</summary>
    AmxBf16 = 2,
}
