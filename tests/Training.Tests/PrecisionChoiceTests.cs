using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training.Tests;

/// <summary>--precision auto: a function of the setting, the device, the encoder and the CPU's bf16 flags.</summary>
public sealed class PrecisionChoiceTests
{
    private const string IntelAmx = "flags\t\t: fpu vme de pse tsc msr avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8";
    private const string AmdZen4 = "flags\t\t: fpu vme de pse tsc msr avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni";
    private const string OldXeon = "flags\t\t: fpu vme de pse tsc msr avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni";

    [Theory]
    [InlineData(IntelAmx, CpuBf16Features.AmxBf16 | CpuBf16Features.Avx512Bf16)]
    [InlineData(AmdZen4, CpuBf16Features.Avx512Bf16)]
    [InlineData(OldXeon, CpuBf16Features.None)]
    [InlineData("flags\t\t: fpu amx_tile amx_int8 avx512_bf16x avx_vnni", CpuBf16Features.None)] // whole flags only
    [InlineData("Features\t: fp asimd bf16 i8mm", CpuBf16Features.None)]                        // ARM: not read (not measured)
    public void The_cpus_bf16_features_come_from_the_flags_line_of_cpuinfo(string flagsLine, CpuBf16Features expected)
    {
        string[] cpuinfo = ["processor\t: 0", "model name\t: some CPU", flagsLine, "bugs\t\t: spectre_v1 avx512_bf16_bug", "", "processor\t: 1", "flags\t\t: fpu"];
        Assert.Equal(expected, CpuBf16.FromCpuInfo(cpuinfo));
    }

    [Fact]
    public void Flags_are_whole_words_in_any_case()
    {
        Assert.Equal(CpuBf16Features.AmxBf16 | CpuBf16Features.Avx512Bf16, CpuBf16.FromFlags(["AMX_BF16", "avx512_bf16"]));
        Assert.Equal(CpuBf16Features.None, CpuBf16.FromFlags([]));
        Assert.Equal("AMX-BF16 and AVX512-BF16", (CpuBf16Features.AmxBf16 | CpuBf16Features.Avx512Bf16).Describe());
        Assert.Equal("no native bf16", CpuBf16Features.None.Describe());
    }

    [Theory]
    // On a CPU with native bf16, auto takes bf16 for the ResNets (measured faster) and keeps the small ConvNet in fp32 (measured no faster).
    [InlineData(IntelAmx, "resnet18", "bf16")]
    [InlineData(IntelAmx, "resnet34", "bf16")]
    [InlineData(IntelAmx, "resnet50", "bf16")]
    [InlineData(IntelAmx, "convnet", "fp32")]
    [InlineData(AmdZen4, "resnet18", "bf16")]
    [InlineData(AmdZen4, "convnet", "fp32")]
    // Without it, fp32 for every encoder.
    [InlineData(OldXeon, "resnet18", "fp32")]
    [InlineData(OldXeon, "resnet50", "fp32")]
    [InlineData(OldXeon, "convnet", "fp32")]
    public void Auto_on_the_cpu_follows_the_flags_and_the_encoder(string flagsLine, string encoder, string expected)
    {
        var choice = PrecisionChoice.Decide("auto", DeviceType.CPU, encoder, CpuBf16.FromCpuInfo([flagsLine]));
        Assert.Equal(expected, choice.Name);
        Assert.Equal(expected == "bf16" ? ScalarType.BFloat16 : null, choice.Compute);
        Assert.StartsWith("auto: ", choice.Reason);
    }

    [Fact]
    public void The_reason_says_why()
    {
        var amx = CpuBf16.FromCpuInfo([IntelAmx]);
        Assert.Equal("bf16 (auto: the CPU has AMX-BF16 and AVX512-BF16)", PrecisionChoice.Decide("auto", DeviceType.CPU, "resnet18", amx).ToString());
        Assert.Contains("measured no faster for the convnet", PrecisionChoice.Decide("auto", DeviceType.CPU, "convnet", amx).Reason);
        Assert.Equal("fp32 (auto: the CPU has no native bf16 (AVX512-BF16 or AMX-BF16))", PrecisionChoice.Decide("auto", DeviceType.CPU, "resnet18", CpuBf16Features.None).ToString());
        Assert.Equal("bf16 (auto: CUDA)", PrecisionChoice.Decide("auto", DeviceType.CUDA, "convnet", CpuBf16Features.None).ToString());
    }

    [Fact]
    public void An_explicit_setting_always_wins()
    {
        var amx = CpuBf16.FromCpuInfo([IntelAmx]);
        Assert.Equal("fp32 (as set)", PrecisionChoice.Decide("fp32", DeviceType.CPU, "resnet18", amx).ToString());
        Assert.Equal("fp32 (as set)", PrecisionChoice.Decide("fp32", DeviceType.CUDA, "resnet18", amx).ToString());
        Assert.Equal("bf16 (as set)", PrecisionChoice.Decide("bf16", DeviceType.CPU, "convnet", amx).ToString());
        var emulated = PrecisionChoice.Decide("bf16", DeviceType.CPU, "convnet", CpuBf16Features.None);
        Assert.Equal(ScalarType.BFloat16, emulated.Compute); // honoured, with a warning in the reason
        Assert.Contains("emulated", emulated.Reason);
        Assert.Throws<ArgumentException>(() => PrecisionChoice.Decide("fp16", DeviceType.CPU, "convnet", amx));
    }

    [Fact]
    public void A_model_that_computes_in_fp32_says_so_under_auto()
    {
        var amx = CpuBf16.FromCpuInfo([IntelAmx]);
        Assert.Equal("fp32 (auto: this method's model computes in fp32)", PrecisionChoice.Decide("auto", DeviceType.CPU, null, amx).ToString());
        Assert.Equal("fp32 (auto: this method's model computes in fp32)", PrecisionChoice.Decide("auto", DeviceType.CUDA, null, amx).ToString());
    }

    [Fact]
    public void The_trainer_reports_the_choice_it_computes_in()
    {
        using var cpc = TestTrainers.Create(new TrainingOptions { Method = "cpc", Seed = 1 }, 320, batchSize: 4, channels: 1);
        Assert.Equal("fp32 (auto: this method's model computes in fp32)", cpc.Precision.ToString());
        using var simclr = TestTrainers.Create(new TrainingOptions { Encoder = "convnet", Seed = 1, Precision = "bf16" }, 16, batchSize: 16);
        Assert.Equal("bf16 (as set)", simclr.Precision.ToString());
        // auto on this machine: what the decision gives for its own CPU.
        using var auto = TestTrainers.Create(new TrainingOptions { Encoder = "convnet", Seed = 1 }, 16, batchSize: 16);
        Assert.Equal(PrecisionChoice.Decide("auto", DeviceType.CPU, "convnet", CpuBf16.Detect()), auto.Precision);
    }
}
