using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace Contrastive.Host;

/// <summary>Configuration sources in precedence order, and binding with the same validation the host applies.</summary>
public static class Settings
{
    /// <summary>appsettings.json beside the binary, then in the working directory, then CONTRASTIVE_ variables, then the command line.</summary>
    public static void AddSources(IConfigurationBuilder builder, IDictionary<string, string?> overrides)
    {
        builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        builder.AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true);
        builder.AddEnvironmentVariables("CONTRASTIVE_");
        builder.AddInMemoryCollection(overrides);
    }

    public static IConfiguration Build(IDictionary<string, string?> overrides)
    {
        var builder = new ConfigurationBuilder();
        AddSources(builder, overrides);
        return builder.Build();
    }

    /// <summary>Binds section <paramref name="section"/> and validates it; a failure is a usage error naming the setting.</summary>
    public static T Bind<T>(IConfiguration config, string section) where T : new() => (T)Bind(config, section, new T()!);

    /// <summary>Binds and validates a method's own options (its registration's section and class).</summary>
    public static object Bind(IConfiguration config, Contrastive.Training.MethodRegistration method) => Bind(config, method.Section, method.NewOptions());

    private static object Bind(IConfiguration config, string section, object value)
    {
        try
        {
            config.GetSection(section).Bind(value);
        }
        catch (InvalidOperationException e)
        {
            throw new UsageException($"configuration {section}: {e.InnerException?.Message ?? e.Message}", e);
        }
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
            throw new UsageException(string.Join("; ", results.Select(r => $"{section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}")));
        return value;
    }
}
