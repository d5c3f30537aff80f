namespace Contrastive.Host.Tests;

/// <summary>The vendored chart library is embedded and draws in real headless Chromium with nothing fetched.</summary>
public sealed class AssetTests() : TempFolderTest("asset")
{
    [Fact]
    public async Task Vendored_uplot_draws_a_chart_in_headless_chromium()
    {
        string js = Contrastive.Host.Assets.HostAssets.ReadText(Contrastive.Host.Assets.HostAssets.UPlotScript);
        string css = Contrastive.Host.Assets.HostAssets.ReadText(Contrastive.Host.Assets.HostAssets.UPlotStyle);
        Assert.StartsWith("/*! https://github.com/leeoniya/uPlot", js);
        string page = Path.Combine(Folder, "chart.html");
        File.WriteAllText(page, $$"""
            <!doctype html><html><head><style>{{css}}</style><script>{{js}}</script></head><body><div id="c"></div>
            <script>
            const u = new uPlot({width: 400, height: 200, series: [{}, {label: "loss", stroke: "red"}]}, [[1,2,3],[3,2,1]], document.getElementById("c"));
            document.body.setAttribute("data-canvases", document.querySelectorAll("canvas").length);
            </script></body></html>
            """);
        string dom = await Chromium.DumpDom(new Uri(page).AbsoluteUri);
        Assert.Contains("data-canvases=\"1\"", dom);
        Assert.Contains("u-legend", dom);
    }
}
