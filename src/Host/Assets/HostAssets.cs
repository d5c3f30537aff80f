using System.Reflection;

namespace Contrastive.Host.Assets;

/// <summary>
/// Static files compiled into the executable (embedded resources), so that pages and reports are self-contained: nothing
/// is fetched from the internet. uPlot (MIT, vendored from npm's <c>uplot</c> 1.6.32, LICENSE beside it) draws charts.
/// </summary>
internal static class HostAssets
{
    public const string UPlotScript = "uplot/uPlot.iife.min.js";
    public const string UPlotStyle = "uplot/uPlot.min.css";

    /// <summary>The text of an embedded asset, by its path under src/Host/Assets (forward slashes).</summary>
    public static string ReadText(string path)
    {
        var asm = typeof(HostAssets).Assembly;
        string name = "Contrastive.Host.Assets." + path.Replace('/', '.');
        using var s = asm.GetManifestResourceStream(name)
            ?? throw new FileNotFoundException($"embedded asset '{path}' (resource {name}) is not in {asm.GetName().Name}");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
