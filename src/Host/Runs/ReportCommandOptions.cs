using System.ComponentModel.DataAnnotations;

namespace Contrastive.Host;

/// <summary>`contrastive report`: a training folder's report. Configuration section "Report".</summary>
internal sealed class ReportCommandOptions
{
    /// <summary>A training run's --out folder, finished or running.</summary>
    [Required(ErrorMessage = "is required: a training run's --out folder")]
    public string? Run { get; set; }

    /// <summary>Where to write the page; unset: report.html in the run folder.</summary>
    public string? Output { get; set; }
}
