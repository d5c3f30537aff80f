using BenchmarkDotNet.Attributes;
using Contrastive.Augment;
using Contrastive.Host;

namespace Contrastive.Perf;

/// <summary>
/// One core, per source image: decode a demo JPEG (64–128 px) and write two SimCLR views into batch slots.
/// Images are generated (seed 0), so every run measures the same bytes.
/// </summary>
[MemoryDiagnoser]
public class AugmentBenchmarks
{
    private byte[][] _jpegs = [];
    private readonly SkiaImageDecoder _decoder = new();
    private readonly PixelBuffer _pixels = new();
    private readonly ViewWorkspace _workspace = new();
    private SimClrViewPolicy _policy = null!;
    private byte[] _slot = [];
    private int _next;

    [Params(32, 96)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _jpegs = Enumerable.Range(0, 64).Select(i => DemoImageGenerator.Make(0, i).Jpeg).ToArray();
        _policy = new SimClrViewPolicy(new AugmentOptions { Size = Size });
        _slot = new byte[3 * Size * Size];
    }

    [Benchmark(Description = "decode only")]
    public int Decode()
    {
        _decoder.Decode(_jpegs[_next++ & 63], _pixels);
        return _pixels.Width;
    }

    [Benchmark(Description = "decode + two SimCLR views")]
    public int DecodeTwoViews()
    {
        int i = _next++ & 63;
        _decoder.Decode(_jpegs[i], _pixels);
        _policy.WriteView(_pixels, 0, 0, 0, i, _slot, _workspace);
        _policy.WriteView(_pixels, 1, 0, 0, i, _slot, _workspace);
        return _slot[0];
    }
}
