using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`bench` and `train`: a timeline trace and an HTML report of the run. Configuration section "Profile".</summary>
internal sealed class ProfileOptions
{
    /// <summary>Write a Chrome Trace Event file (Perfetto, chrome://tracing, speedscope) here; unset: no trace.</summary>
    public string? Trace { get; set; }

    /// <summary>Trace only the first this many seconds; unset: the whole run (spans thinned to stay under <see cref="TraceMaxMb"/>).</summary>
    [Range(0.1, 1e7)]
    public double? TraceSeconds { get; set; }

    /// <summary>Size cap of the trace file in MB. Default 4.</summary>
    [Range(0.1, 10_000)]
    public double TraceMaxMb { get; set; } = 4;

    /// <summary>Write the HTML report here (train also writes report.html into its --out folder); unset: bench writes none.</summary>
    public string? Report { get; set; }

    /// <summary>The recorder these options ask for; null without <see cref="Trace"/>.</summary>
    public TraceRecorder? NewRecorder() => Trace is null ? null : new TraceRecorder((long)(TraceMaxMb * 1e6), TraceSeconds);
}
