using System.Diagnostics;
using System.Text;

namespace Contrastive.Host.Tests;

/// <summary>
/// The real `contrastive` executable (dotnet contrastive.dll) in a child process: its output collected line by line,
/// waits bounded in time, SIGTERM or SIGKILL. Disposing kills whatever still runs.
/// </summary>
internal sealed class ContrastiveProcess : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _out = new(), _err = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _waits = [];

    private ContrastiveProcess(Process p)
    {
        _p = p;
        p.OutputDataReceived += (_, e) => Add(_out, e.Data);
        p.ErrorDataReceived += (_, e) => Add(_err, e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
    }

    public static ContrastiveProcess Start(IDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "contrastive.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        return new ContrastiveProcess(Process.Start(psi)!);
    }

    public static ContrastiveProcess Start(params string[] args) => Start(null, args);

    /// <summary>
    /// Runs `dotnet contrastive.dll ARGS` as the child of a shell started from <paramref name="shell"/> (a copy of /bin/sh under
    /// another name, e.g. "systemd"), which waits for it: the process seen here is the shell.
    /// </summary>
    public static ContrastiveProcess StartUnderShell(string shell, IDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(shell) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", "\"$@\"; exit $?", Path.GetFileName(shell), "dotnet", Path.Combine(AppContext.BaseDirectory, "contrastive.dll") }.Concat(args))
            psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        return new ContrastiveProcess(Process.Start(psi)!);
    }

    /// <summary>The ids of this process's children (from /proc).</summary>
    public IReadOnlyList<int> Children()
    {
        var list = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (rest.Length > 1 && int.TryParse(rest[1], out int ppid) && ppid == _p.Id) list.Add(pid);
        }
        return list;
    }

    public int Id => _p.Id;

    public bool HasExited => _p.HasExited;

    public int ExitCode => _p.ExitCode;

    public string Out { get { lock (_out) return _out.ToString(); } }

    public string Err { get { lock (_out) return _err.ToString(); } }

    private void Add(StringBuilder to, string? line)
    {
        if (line is null) return;
        lock (_out)
        {
            to.AppendLine(line);
            foreach (var (text, seen) in _waits)
                if (line.Contains(text, StringComparison.Ordinal)) seen.TrySetResult();
        }
    }

    /// <summary>Waits until a line of stdout or stderr contains <paramref name="text"/> (also one printed already).</summary>
    public async Task WaitForLine(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_out)
        {
            if (_out.ToString().Contains(text, StringComparison.Ordinal) || _err.ToString().Contains(text, StringComparison.Ordinal)) return;
            _waits.Add((text, seen));
        }
        var exited = _p.WaitForExitAsync();
        var done = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout));
        if (done == seen.Task) return;
        throw new TimeoutException(done == exited
            ? $"the process exited ({_p.ExitCode}) before printing '{text}': {Err}{Out}"
            : $"no line with '{text}' within {timeout.TotalSeconds:F0} s: {Err}{Out}");
    }

    public async Task<int> WaitForExit(TimeSpan timeout)
    {
        await _p.WaitForExitAsync().WaitAsync(timeout);
        _p.WaitForExit(); // drains the asynchronous output readers
        return _p.ExitCode;
    }

    /// <summary>Sends SIGTERM, as a service manager stops a service.</summary>
    public async Task Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    /// <summary>SIGKILL: the process dies at once, with no chance to clean up.</summary>
    /// <summary>SIGKILL: to the process alone (as `kill -9 PID`), or with <paramref name="tree"/> to its children too.</summary>
    public void KillHard(bool tree = false)
    {
        _p.Kill(entireProcessTree: tree);
        _p.WaitForExit(30_000);
    }

    public void Dispose()
    {
        try { if (!_p.HasExited) KillHard(tree: true); } catch (InvalidOperationException) { }
        _p.Dispose();
    }
}
