using System.CommandLine;
using Contrastive.Ingest;

namespace Contrastive.Host;

/// <summary>
/// What every command's action starts from, set up the one way: the invocation's bound configuration, where it prints, and
/// the pieces configured from it (object storage, decoders, the live display).
/// </summary>
internal sealed class CommandContext
{
    public CommandContext(CommandConfiguration config, TextWriter output, TextWriter error)
    {
        Config = config;
        Output = output;
        Error = error;
        ObjectStore = config.Bind<ObjectStoreOptions>("ObjectStore");
    }

    /// <summary>Object storage's requests and retries (section "ObjectStore"), for every s3:// read and write of the command.</summary>
    public ObjectStoreOptions ObjectStore { get; }

    public CommandConfiguration Config { get; }

    /// <summary>Where the result goes (stdout).</summary>
    public TextWriter Output { get; }

    /// <summary>Where progress, logs and errors go (stderr).</summary>
    public TextWriter Error { get; }

    /// <summary>Binds and validates a section.</summary>
    public T Bind<T>(string section) where T : new() => Config.Bind<T>(section);

    /// <summary>How the user gave a key (the option, variable or appsettings key), for messages.</summary>
    public string NameOf(string key) => Config.NameOf(key);

    /// <summary>The configured decoders (an error names the setting).</summary>
    public Func<IImageDecoder> Decoders() => Config.Decoders();

    /// <summary>A live display on a terminal (none elsewhere).</summary>
    public RunDisplay Display() => new(Error);

    /// <summary>Whether the user set a key of <paramref name="sections"/>: data-driven defaults leave those alone.</summary>
    public Func<string, bool> Given(params string[] sections) => Config.GivenKeys(sections).Contains;

    /// <summary>A line on stderr.</summary>
    public void Say(string line) => Error.WriteLine(line);
}

/// <summary>How commands attach their action to the shared set-up.</summary>
internal static class CommandActions
{
    /// <summary>Runs <paramref name="action"/> with the invocation's <see cref="CommandContext"/> (<paramref name="extra"/>: keys set by options that are not plain key options).</summary>
    public static void SetAction(this Command command, CommandLineOptions options, TextWriter output, TextWriter error,
        Func<CommandContext, ParseResult, CancellationToken, Task<int>> action, Func<ParseResult, IDictionary<string, string?>?>? extra = null) =>
        command.SetAction(async (parse, ct) =>
            await action(new CommandContext(options.Configure(parse, extra?.Invoke(parse)), output, error), parse, ct).ConfigureAwait(false));
}
