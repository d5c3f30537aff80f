namespace Contrastive.Training;

/// <summary>
/// The methods this build knows, by name. Adding a method is a folder under Methods/ (its options, the method, its
/// registration) and one line in <see cref="All"/>; a library user can also <see cref="Register"/> one at start-up.
/// </summary>
public static class MethodRegistry
{
    private static readonly List<MethodRegistration> Methods =
    [
        new SimClrRegistration(),
        new SupConRegistration(),
        new MocoRegistration(),
        new ByolRegistration(),
        new DinoRegistration(),
        new CpcRegistration(),
        new ClipRegistration(),
        new SimCseRegistration(),
    ];

    /// <summary>Every registered method, in registration order.</summary>
    public static IReadOnlyList<MethodRegistration> All
    {
        get { lock (Methods) return Methods.ToArray(); }
    }

    /// <summary>The names, comma-separated, for help texts and errors.</summary>
    public static string Names => string.Join(", ", All.Select(m => m.Name));

    /// <summary>Adds a method (a library's own); its name must be new.</summary>
    public static void Register(MethodRegistration method)
    {
        ArgumentNullException.ThrowIfNull(method);
        lock (Methods)
        {
            if (Methods.Any(m => string.Equals(m.Name, method.Name, StringComparison.OrdinalIgnoreCase)))
                throw new ArgumentException($"A method named '{method.Name}' is already registered.", nameof(method));
            Methods.Add(method);
        }
    }

    /// <summary>The method called <paramref name="name"/> (any case), or null.</summary>
    public static MethodRegistration? Find(string? name) =>
        name is null ? null : All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The method called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such method; the message lists the registered ones.</exception>
    public static MethodRegistration Get(string? name) =>
        Find(name) ?? throw new ArgumentException($"Unknown method '{name}': the registered methods are {Names}.");
}
