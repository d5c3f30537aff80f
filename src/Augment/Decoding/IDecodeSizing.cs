namespace Contrastive.Augment;

/// <summary>The smallest decoded size a consumer can use, given the image's stored size (see <see cref="IImageDecoder"/>).</summary>
public interface IDecodeSizing
{
    (int MinWidth, int MinHeight) MinimumSize(int width, int height);
}
