using System.ComponentModel.DataAnnotations;
using System.Reflection;

namespace Contrastive.Host;

/// <summary>Copies of bound options, so a run's own adjustments (data-driven defaults) never change the settings it was given.</summary>
internal static class OptionsCopy
{
    private static readonly MethodInfo Clone = typeof(object).GetMethod("MemberwiseClone", BindingFlags.Instance | BindingFlags.NonPublic)!;

    /// <summary>A field-by-field copy of <paramref name="options"/> (options classes hold values and strings).</summary>
    public static T Of<T>(T options) where T : class => (T)Clone.Invoke(options, null)!;

    /// <summary>Validates <paramref name="options"/> by their DataAnnotations.</summary>
    /// <exception cref="UsageException">A rule broken; the message names Section:Key.</exception>
    public static void Validate(object options, string section)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
            throw new UsageException(string.Join("; ", results.Select(r => $"{section}:{string.Join(",", r.MemberNames)} {r.ErrorMessage}")));
    }
}
