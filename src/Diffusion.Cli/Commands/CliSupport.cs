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

    /// <summary>
    /// Runs a command body; bad input, or a system without libtorch, becomes one "error: …" line on standard error and
    /// exit code 1.
    /// </summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        // The shim's first load can happen inside a type initializer, which wraps what it throws.
        catch (Exception e) when (Find<LibTorchNotFoundException>(e) is { } missing)
        {
            Console.Error.WriteLine($"error: {missing.Message}");
            return 1;
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or FileNotFoundException or DirectoryNotFoundException
                                      or InvalidDataException or JsonException or ConfigException or NotSupportedException or FormatException
                                      or DistributedException)
        {
            Console.Error.WriteLine($"error: {e.Message.Split('\n')[0]}");
            return 1;
        }
    }

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
        command.SetAction(r => Guard(() => run(r)));
        return command;
    }

    /// <summary>The <c>--json</c> flag of the commands that print one result object.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "Print the result as one JSON object on the last line of standard output" };

    /// <summary>Writes the machine-readable result as the last line of standard output.</summary>
    public static void JsonLine(object result) =>
        Console.Out.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (System.Progress posts to the thread pool).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
