using System.Text.RegularExpressions;

namespace Contrastive.Host.Tests;

/// <summary>The status page of a real `contrastive serve`, in real headless Chromium: the job list, and a job page whose loss chart grows while the job runs.</summary>
public sealed partial class ServePageTests() : TempFolderTest("servepage")
{
    [GeneratedRegex("""id="chart-0" data-points="(\d+)"|data-points="(\d+)"[^>]*id="chart-0" """)]
    private static partial Regex LossPoints();

    private static int Points(string dom)
    {
        var m = LossPoints().Match(dom);
        Assert.True(m.Success, "no loss chart with data-points in the page: " + dom[..Math.Min(dom.Length, 3000)]);
        return int.Parse(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
    }

    [Fact]
    public async Task The_job_page_draws_a_loss_chart_whose_points_grow_while_the_job_runs()
    {
        string data = Path.Combine(Folder, "data");
        var (code, _, err) = await CliRunner.Run("demo-data", "--output", Path.Combine(data, "demo"), "--count", "300");
        Assert.True(code == 0, err);
        using var s = await ServeProcess.Start(Path.Combine(Folder, "state"), data);
        var (_, job) = await s.Submit("""{"method":"simclr","data":"demo","max_steps":100000,"max_minutes":10,"batch_size":16,"workers":1,"checkpoint_every":50}""");
        string id = job.GetProperty("id").GetString()!;
        await s.WaitFor(id, j => j.GetProperty("step").GetInt64() >= 5, TimeSpan.FromMinutes(3), "at step 5");
        string page = $"http://127.0.0.1:{s.Port}/jobs/{id}";

        string first = await Chromium.DumpDom(page, 3000);
        int before = Points(first);
        Assert.True(before >= 5, $"{before} loss points drawn");
        Assert.Contains("""<span id="state" class="state running">running</span>""", first);
        Assert.Contains("Training simclr", first); // the log tail
        Assert.Contains("uplot", first); // the chart library drew (its own class names)
        Assert.DoesNotContain("src=\"http", first);

        long stepThen = (await s.Job(id)).GetProperty("step").GetInt64();
        await s.WaitFor(id, j => j.GetProperty("step").GetInt64() >= stepThen + 10, TimeSpan.FromMinutes(3), "10 steps further");
        int after = Points(await Chromium.DumpDom(page, 3000));
        Assert.True(after > before, $"loss points drawn: {before}, then {after}");

        string png = await Chromium.Screenshot(page, Path.Combine(Folder, "job.png"), 1280, 1100, 3000);
        Assert.True(new FileInfo(png).Length > 20_000, "the screenshot is nearly empty");

        string list = await Chromium.DumpDom($"http://127.0.0.1:{s.Port}/", 2500);
        Assert.Contains($"""<a href="/jobs/{id}">{id}</a>""", list);
        Assert.Contains("""<span class="state running">running</span>""", list);

        using var cancel = await s.Http.PostAsync($"/api/jobs/{id}/cancel", null);
        await s.WaitForState(id, "cancelled", TimeSpan.FromMinutes(3));
        var done = await Chromium.DumpDom(page, 2500);
        Assert.Contains("""class="state cancelled">cancelled</span>""", done);
        Assert.Contains("""<button id="cancel" disabled="">""", done); // an ended job cannot be cancelled
    }
}
