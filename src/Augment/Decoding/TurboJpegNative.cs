using System.Reflection;
using System.Runtime.InteropServices;

namespace Contrastive.Augment;

/// <summary>
/// The part of the TurboJPEG C API (libjpeg-turbo 2.0 or later, libturbojpeg.so.0) that decoding needs. The library
/// is looked up once; <see cref="IsAvailable"/> says whether it was found with every function below, and nothing here
/// may be called when it was not (the calls would throw <see cref="DllNotFoundException"/>).
/// </summary>
internal static unsafe partial class TurboJpegNative
{
    private const string Library = "libturbojpeg.so.0";

    // Sonames tried in order: the runtime package's (Debian/Ubuntu libturbojpeg0, Fedora turbojpeg), the -dev
    // symlink, then the names on macOS and Windows.
    private static readonly string[] Candidates = ["libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.0.dylib", "libturbojpeg.dylib", "turbojpeg.dll"];

    // tjGetErrorCode and tjGetErrorStr2 appeared in 2.0; requiring them rejects 1.x libraries.
    private static readonly string[] Required =
        ["tjInitDecompress", "tjDecompressHeader3", "tjDecompress2", "tjGetScalingFactors", "tjGetErrorStr2", "tjGetErrorCode", "tjDestroy"];

    private static readonly nint Handle;

    // Pixel format TJPF_RGB: 3 bytes a pixel, R G B.
    public const int PixelFormatRgb = 0;

    // JPEG colour spaces (TJCS) reported by tjDecompressHeader3.
    public const int ColorspaceRgb = 0, ColorspaceYCbCr = 1, ColorspaceGray = 2, ColorspaceCmyk = 3, ColorspaceYcck = 4;

    // TJFLAG_LIMITSCANS: fail a progressive JPEG with more than 500 scans (a known way to make a tiny file decode for minutes).
    public const int FlagLimitScans = 32768;

    // TJFLAG_FASTUPSAMPLE (nearest chroma upsampling instead of the smooth one) and TJFLAG_FASTDCT (the fast integer IDCT
    // instead of the accurate one): faster, slightly different pixels; measured (perf augment-stages), not used.
    public const int FlagFastUpsample = 256, FlagFastDct = 2048;

    // TJERR: a warning (the decoder recovered and went on) or a fatal error.
    public const int ErrorWarning = 0, ErrorFatal = 1;

    static TurboJpegNative()
    {
        foreach (var name in Candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var lib)) continue;
            bool complete = true;
            foreach (var export in Required) complete &= NativeLibrary.TryGetExport(lib, export, out _);
            if (!complete)
            {
                NativeLibrary.Free(lib);
                continue;
            }
            Handle = lib;
            LoadedName = name;
            NativeLibrary.SetDllImportResolver(typeof(TurboJpegNative).Assembly, Resolve);
            return;
        }
    }

    public static bool IsAvailable => Handle != 0;

    /// <summary>The library name that was loaded, or null.</summary>
    public static string? LoadedName { get; }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) => name == Library ? Handle : 0;

    [StructLayout(LayoutKind.Sequential)]
    public struct ScalingFactor
    {
        public int Num;
        public int Denom;
    }

    [LibraryImport(Library)]
    public static partial TurboJpegHandle tjInitDecompress();

    [LibraryImport(Library)]
    public static partial int tjDecompressHeader3(TurboJpegHandle handle, byte* jpegBuf, CULong jpegSize, int* width, int* height, int* jpegSubsamp, int* jpegColorspace);

    [LibraryImport(Library)]
    public static partial int tjDecompress2(TurboJpegHandle handle, byte* jpegBuf, CULong jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(Library)]
    public static partial ScalingFactor* tjGetScalingFactors(int* numScalingFactors);

    /// <summary>The last error's text: the instance's, or the calling thread's for library-level errors (thread-local in libjpeg-turbo).</summary>
    [LibraryImport(Library)]
    public static partial byte* tjGetErrorStr2(nint handle);

    /// <summary>TJERR_WARNING when a warning was raised during the last call, else TJERR_FATAL (see the decoder on why that is not the whole story).</summary>
    [LibraryImport(Library)]
    public static partial int tjGetErrorCode(TurboJpegHandle handle);

    [LibraryImport(Library)]
    public static partial int tjDestroy(nint handle);
}
