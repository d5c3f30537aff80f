using Contrastive.Augment;
using SkiaSharp;

namespace Contrastive.Host;

/// <summary>
/// Draws the synthetic labelled images of the demo dataset: ten classes told apart by shape and texture,
/// with a class-typical (but jittered) hue, on random backgrounds, at random position, scale and rotation,
/// with pixel noise; 64 to 128 pixels a side; JPEG-encoded. Image i depends only on (seed, i).
/// </summary>
internal static class DemoImageGenerator
{
    public const int Classes = 10;

    internal enum Shape { Circle, Square, Triangle, Star, Ring, Cross, Hexagon }

    private enum Texture { Solid, Stripes, Dots, Checker }

    private static readonly (Shape Shape, Texture Texture)[] ClassLook =
    [
        (Shape.Circle, Texture.Solid), (Shape.Square, Texture.Solid), (Shape.Triangle, Texture.Solid), (Shape.Star, Texture.Solid),
        (Shape.Circle, Texture.Stripes), (Shape.Square, Texture.Checker), (Shape.Triangle, Texture.Dots), (Shape.Ring, Texture.Solid),
        (Shape.Cross, Texture.Solid), (Shape.Hexagon, Texture.Stripes),
    ];

    /// <summary>Size and encoding: a fixed width and height (default random 64 to 128 a side) and the JPEG quality.</summary>
    public readonly record struct Look(int? Width = null, int? Height = null, int Quality = 90);

    /// <summary>Makes image <paramref name="index"/>: its label and JPEG bytes.</summary>
    public static (long Label, byte[] Jpeg) Make(long seed, long index, Look look = default)
    {
        var rng = new SampleRandom(seed, 0, index, 7);
        int label = (int)(index % Classes);
        int w = 64 + rng.NextInt(65), h = 64 + rng.NextInt(65);
        if (look.Width is { } fw) w = fw;
        if (look.Height is { } fh) h = fh;
        int quality = look.Quality == 0 ? 90 : look.Quality;
        var (shape, texture) = ClassLook[label];

        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(Hsv(rng.Uniform(0, 360), rng.Uniform(0.1, 0.7), rng.Uniform(0.25, 0.95)));
            // Background clutter: a few faint lines so that the background is not flat.
            using (var clutter = new SKPaint { IsAntialias = true, StrokeWidth = 2, Color = Hsv(rng.Uniform(0, 360), 0.3, rng.Uniform(0.3, 0.9)).WithAlpha(90) })
            {
                for (int i = 0; i < 3; i++)
                    canvas.DrawLine((float)rng.Uniform(0, w), (float)rng.Uniform(0, h), (float)rng.Uniform(0, w), (float)rng.Uniform(0, h), clutter);
            }

            double hue = label * 36 + rng.Uniform(-25, 25);
            var fg = Hsv(hue, rng.Uniform(0.55, 1.0), rng.Uniform(0.55, 1.0));
            var second = Hsv(hue + 180, rng.Uniform(0.3, 0.8), rng.Uniform(0.2, 0.6));
            float size = (float)(Math.Min(w, h) * rng.Uniform(0.45, 0.8));
            float cx = (float)rng.Uniform(size / 2, w - size / 2), cy = (float)rng.Uniform(size / 2, h - size / 2);
            canvas.Translate(cx, cy);
            canvas.RotateDegrees((float)rng.Uniform(0, 360));
            using var path = ShapePath(shape, size / 2);
            using (var paint = new SKPaint { IsAntialias = true, Color = fg, Style = SKPaintStyle.Fill })
                canvas.DrawPath(path, paint);
            canvas.Save();
            canvas.ClipPath(path, antialias: true);
            DrawTexture(canvas, texture, size, second);
            canvas.Restore();
        }

        AddNoise(bitmap, ref rng, 12);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return (label, data.ToArray());
    }

    internal static SKPath ShapePath(Shape shape, float r)
    {
        var p = new SKPath();
        switch (shape)
        {
            case Shape.Circle: p.AddCircle(0, 0, r); break;
            case Shape.Square: p.AddRect(new SKRect(-r * 0.8f, -r * 0.8f, r * 0.8f, r * 0.8f)); break;
            case Shape.Triangle: Polygon(p, 3, r, 0); break;
            case Shape.Hexagon: Polygon(p, 6, r, 0); break;
            case Shape.Star:
                for (int i = 0; i < 10; i++)
                {
                    double a = Math.PI * i / 5 - Math.PI / 2;
                    float rr = i % 2 == 0 ? r : r * 0.42f;
                    var pt = new SKPoint((float)(rr * Math.Cos(a)), (float)(rr * Math.Sin(a)));
                    if (i == 0) p.MoveTo(pt); else p.LineTo(pt);
                }
                p.Close();
                break;
            case Shape.Ring:
                p.FillType = SKPathFillType.EvenOdd;
                p.AddCircle(0, 0, r);
                p.AddCircle(0, 0, r * 0.55f);
                break;
            case Shape.Cross:
                float t = r * 0.33f;
                p.AddRect(new SKRect(-r, -t, r, t));
                p.AddRect(new SKRect(-t, -r, t, r));
                break;
        }
        return p;
    }

    private static void Polygon(SKPath p, int n, float r, double phase)
    {
        for (int i = 0; i < n; i++)
        {
            double a = phase + 2 * Math.PI * i / n - Math.PI / 2;
            var pt = new SKPoint((float)(r * Math.Cos(a)), (float)(r * Math.Sin(a)));
            if (i == 0) p.MoveTo(pt); else p.LineTo(pt);
        }
        p.Close();
    }

    private static void DrawTexture(SKCanvas canvas, Texture texture, float size, SKColor color)
    {
        if (texture == Texture.Solid) return;
        using var paint = new SKPaint { IsAntialias = true, Color = color, Style = SKPaintStyle.Fill };
        float step = Math.Max(4, size / 6);
        for (float y = -size; y < size; y += step)
        {
            for (float x = -size; x < size; x += step)
            {
                switch (texture)
                {
                    case Texture.Stripes: if (x == -size) canvas.DrawRect(-size, y, 2 * size, step / 2, paint); break;
                    case Texture.Dots: canvas.DrawCircle(x + step / 2, y + step / 2, step / 4, paint); break;
                    case Texture.Checker:
                        if ((((int)Math.Floor(x / step)) + ((int)Math.Floor(y / step))) % 2 == 0) canvas.DrawRect(x, y, step, step, paint);
                        break;
                }
            }
        }
    }

    internal static void AddNoise(SKBitmap bitmap, ref SampleRandom rng, int amplitude)
    {
        var px = bitmap.GetPixelSpan();
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(px);
        for (int i = 0; i < bytes.Length; i += 4)
        {
            for (int c = 0; c < 3; c++)
            {
                int v = bytes[i + c] + rng.NextInt(2 * amplitude + 1) - amplitude;
                bytes[i + c] = (byte)Math.Clamp(v, 0, 255);
            }
        }
    }

    internal static SKColor Hsv(double hue, double s, double v)
    {
        hue %= 360;
        if (hue < 0) hue += 360;
        return SKColor.FromHsv((float)hue, (float)(s * 100), (float)(v * 100));
    }
}
