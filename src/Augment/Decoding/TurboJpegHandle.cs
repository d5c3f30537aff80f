using System.Runtime.InteropServices;

namespace Contrastive.Augment;

/// <summary>A TurboJPEG instance (tjhandle), destroyed with tjDestroy when disposed or finalised.</summary>
internal sealed class TurboJpegHandle : SafeHandle
{
    public TurboJpegHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => TurboJpegNative.tjDestroy(handle) == 0;
}
