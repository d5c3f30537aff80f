namespace Contrastive.Host.Tests;

/// <summary>
/// The status page of a real `contrastive serve`, in real headless Chromium: a job page left open, whose loss chart grows from
/// the job's event stream with no polling request and which hears the job's end; and the job list.
/// </summary>
public sealed class ServePageTests() : TempFolderTest("servepage")
{
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

        // One page, left open: it follows the job through its event stream.
        await using var browser = await ChromiumPage.Open(page);
        await browser.WaitFor("+(document.getElementById('chart-0')?.dataset.points || 0) >= 5", TimeSpan.FromMinutes(1), "5 loss points drawn");
        int before = (await browser.Evaluate("+document.getElementById('chart-0').dataset.points"))!.GetValue<int>();
        int eventsBefore = (await browser.Evaluate("+document.getElementById('main').dataset.events"))!.GetValue<int>();
        Assert.Equal("running", (await browser.Evaluate("document.getElementById('state').textContent"))!.GetValue<string>());
        Assert.Contains("Training simclr", (await browser.Evaluate("document.getElementById('log').textContent"))!.GetValue<string>()); // the log tail
        Assert.True((await browser.Evaluate("document.querySelectorAll('.uplot').length"))!.GetValue<int>() >= 4); // the chart library drew

        await browser.WaitFor($"+document.getElementById('chart-0').dataset.points >= {before + 10}", TimeSpan.FromMinutes(3), "10 points more");
        // It got them from the stream: the page made no request to the API but the one event stream, which is still open.
        var requests = (await browser.Evaluate("performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/api/'))"))!.AsArray()
            .Select(n => n!.GetValue<string>()).ToList();
        Assert.Empty(requests); // a finished fetch leaves an entry; the open stream has none yet
        Assert.True((await browser.Evaluate("+document.getElementById('main').dataset.events"))!.GetValue<int>() > eventsBefore); // more events arrived

        string png = Path.Combine(Folder, "job.png");
        await browser.Screenshot(png);
        Assert.True(new FileInfo(png).Length > 20_000, "the screenshot is nearly empty");
        Assert.Equal(0, (await browser.Evaluate("[...document.querySelectorAll('[src]')].filter(e => !e.src.startsWith(location.origin)).length"))!.GetValue<int>());

        string list = await Chromium.DumpDom($"http://127.0.0.1:{s.Port}/", 2500);
        Assert.Contains($"""<a href="/jobs/{id}">{id}</a>""", list);
        Assert.Contains("""<span class="state running">running</span>""", list);

        using var cancel = await s.Http.PostAsync($"/api/jobs/{id}/cancel", null);
        await s.WaitForState(id, "cancelled", TimeSpan.FromMinutes(3));
        // The open page hears the end through its stream too.
        await browser.WaitFor("document.getElementById('state').textContent === 'cancelled' && document.getElementById('cancel').disabled", TimeSpan.FromMinutes(1), "cancelled");
    }
}
