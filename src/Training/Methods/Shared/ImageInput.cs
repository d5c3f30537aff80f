using Contrastive.Augment;
using TorchSharp;
using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// Turns a uint8 batch into normalised float tensors on the device: the bytes are wrapped without a copy,
/// moved as uint8, and converted and normalised (ImageNet mean and std) on the device.
/// On CUDA the uint8 views are staged in page-locked memory (<c>pin_memory()</c>, one host copy) and copied with
/// <c>non_blocking: true</c>; the batch buffer is free again as soon as this returns, because the device copy reads
/// the page-locked stage, not the lease. TorchSharp has no cudaHostRegister, so the pool's own buffers cannot be
/// page-locked in place. (Not exercised here: this machine has no GPU.)
/// </summary>
public static class ImageInput
{
    /// <summary>ImageNet's per-channel mean of pixels scaled to [0, 1], subtracted before the encoder.</summary>
    internal static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    /// <summary>ImageNet's per-channel standard deviation, divided by after the mean.</summary>
    internal static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>All views of the batch's samples, [Views × Count, 3, S, S], view-major (the views must share one size).</summary>
    public static Tensor ToTensor(Batch batch, Device device) => ToTensor(batch, device, 0, batch.Views);

    /// <summary>
    /// Views <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> − 1 of the batch's samples,
    /// [count × Count, 3, S, S], view-major; they must share one size S (a multi-crop batch's global or local views).
    /// </summary>
    public static Tensor ToTensor(Batch batch, Device device, int first, int count)
    {
        using var scope = NewDisposeScope();
        int s = batch.ViewSize(first);
        for (int v = first + 1; v < first + count; v++)
            if (batch.ViewSize(v) != s) throw new ArgumentException($"views {first} to {first + count - 1} differ in size ({s} and {batch.ViewSize(v)} px)");
        int viewBytes = 3 * s * s;
        var raw = frombuffer(batch.Pixels, ScalarType.Byte, count: count * batch.Capacity * viewBytes, offset: batch.ViewOffset(first))
            .view(count, batch.Capacity, 3, s, s)
            .narrow(1, 0, batch.Count);
        var onDevice = device.type == DeviceType.CUDA ? raw.contiguous().pin_memory().to(device, non_blocking: true) : raw;
        var x = onDevice.to_type(ScalarType.Float32).div_(255f).reshape(count * batch.Count, 3, s, s);
        var mean = tensor(Mean, device: device).view(1, 3, 1, 1);
        var std = tensor(Std, device: device).view(1, 3, 1, 1);
        return x.sub_(mean).div_(std).MoveToOuterDisposeScope();
    }
}
