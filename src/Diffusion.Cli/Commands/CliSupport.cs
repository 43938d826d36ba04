using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Primitives;
using Diffusion.Torch;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>What the commands share: one-line errors, progress on standard error, the --json result line.</summary>
internal static class CliSupport
{
    /// <summary>Progress bars and notes go to standard error, so standard output carries only results (and the --json line last).</summary>
    public static readonly IAnsiConsole Err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    /// <summary><c>--verbose</c>, on every command: an error also prints its exception type and stack trace.</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "On an error, also print the exception's type and stack trace", Recursive = true };

    /// <summary>
    /// Runs a command body: whatever it throws becomes "error: …" on standard error — the message names the file, flag,
    /// field or layer — and exit code 1 (2 for a <see cref="UsageException"/> or an unknown name given to a flag). Nothing escapes as a stack trace; with
    /// <c>--verbose</c> the exception's type and trace follow the message.
    /// </summary>
    public static int Guard(Func<int> body, bool verbose = false)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            // The shim's first load can happen inside a type initializer, which wraps what it throws; so can Spectre's progress.
            var cause = Find<LibTorchNotFoundException>(e) ?? Unwrap(e);
            Console.Error.WriteLine($"error: {Describe(cause)}");
            if (verbose) Console.Error.WriteLine(e.ToString());
            return cause is UsageException or Training.Names.UnknownNameException { FromFlag: true } ? 2 : 1;
        }
    }

    /// <summary>
    /// The whole message (a config or optimizer-state error lists every problem on its own line). Exceptions our code
    /// throws name what was wrong; for one the runtime threw (a bug on our side) the type is added, and how to see more.
    /// </summary>
    public static string Describe(Exception e) => e switch
    {
        InsufficientMemoryException => e.Message, // our pre-flight estimate, which says what to change
        TorchOutOfMemoryException => $"{e.Message} (out of memory: try a smaller --batch or model)",
        OutOfMemoryException => $"out of memory: {e.Message} (try a smaller --batch or model)",
        NullReferenceException or IndexOutOfRangeException or InvalidCastException or OverflowException or InvalidOperationException
            when !Ours(e) => $"{e.Message} ({e.GetType().Name}; an internal error: rerun with --verbose and report it)",
        _ => e.Message,
    };

    /// <summary>Thrown by our own code (its innermost frame is in a Diffusion assembly), so its message carries the context.</summary>
    private static bool Ours(Exception e) => e.TargetSite?.DeclaringType?.Assembly.GetName().Name?.StartsWith("Diffusion", StringComparison.Ordinal) == true
        && e is not NullReferenceException;

    /// <summary>The exception inside wrappers that add nothing (type initializers, reflection, aggregates of one).</summary>
    private static Exception Unwrap(Exception e) => e switch
    {
        TypeInitializationException { InnerException: { } inner } => Unwrap(inner),
        System.Reflection.TargetInvocationException { InnerException: { } inner } => Unwrap(inner),
        AggregateException { InnerExceptions.Count: 1 } a => Unwrap(a.InnerExceptions[0]),
        _ => e,
    };

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
            if (e is T found) return found;
        return null;
    }

    /// <summary>A command with these options whose action runs under <see cref="Guard"/>.</summary>
    public static Command Command(string name, string description, Func<ParseResult, int> run, params Option[] options)
    {
        var command = new Command(name, description);
        foreach (var option in options) command.Options.Add(option);
        command.SetAction(r => Guard(() => run(r), r.GetValue(Verbose)));
        return command;
    }

    /// <summary>
    /// Declares a numeric flag's range once, beside the flag: a value outside [<paramref name="min"/>, <paramref name="max"/>]
    /// (above <paramref name="min"/> when <paramref name="minExclusive"/>), NaN or ±∞ is a parse error naming the flag (exit 2).
    /// </summary>
    public static Option<T> Within<T>(this Option<T> option, double min, double max, bool minExclusive = false, string why = "")
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<T>() is not { } value) return;
            var x = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
            if (!(minExclusive ? x > min : x >= min) || !(x <= max))
                result.AddError($"{option.Name} {value}: must be {Range(min, max, minExclusive)}{why}");
        });
        return option;
    }

    /// <summary>A range as a person reads it: "≥ 1", "in (0, 1]", "in [1, 1,000,000]".</summary>
    public static string Range(double min, double max, bool minExclusive = false) =>
        double.IsPositiveInfinity(max) || max >= int.MaxValue ? $"{(minExclusive ? ">" : "≥")} {min:#,0.##########}"
        : $"in {(minExclusive ? "(" : "[")}{min:#,0.##########}, {max:#,0.##########}]";

    /// <summary>The <c>--no-memory-check</c> flag of the commands that refuse a run whose memory estimate exceeds MemAvailable.</summary>
    public static Option<bool> NoMemoryCheckOption() =>
        new("--no-memory-check") { Description = "Run even when the memory estimate from the model's plan exceeds the memory available (/proc/meminfo MemAvailable)" };

    /// <summary>The <c>--json</c> flag of the commands that print one result object.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "Print the result as one JSON object on the last line of standard output" };

    /// <summary>Writes the machine-readable result as the last line of standard output.</summary>
    public static void JsonLine(object result) =>
        Console.Out.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
}

/// <summary>A flag value or combination the command cannot use: exit code 2, like a parse error.</summary>
internal sealed class UsageException(string message) : ArgumentException(message);

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (System.Progress posts to the thread pool).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
