using System.CommandLine;
using Diffusion.Cli.Commands;

var root = new RootCommand("diffusion: build, inspect, train and sample diffusion-model score networks on libtorch")
{
    InfoCommand.Create(),
    TrainCommand.Create(),
    SampleCommand.Create(),
    InpaintCommand.Create(),
    PlotCommand.Create(),
    LikelihoodCommand.Create(),
    DemoCommand.Create(),
    SummaryCommand.Create(),
    ConfigCommand.Create(),
    BenchCommand.Create(),
    ImportCommand.Create(),
    SamplersCommand.Create(),
    ClassifierCommand.Create(),
};
root.Options.Add(CliSupport.Verbose);
// Usage errors (unknown flags, unparsable or out-of-range values) are one "error: …" line per problem and exit code 2.
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine($"(see: diffusion {(parsed.CommandResult.Command == root ? "" : parsed.CommandResult.Command.Name + " ")}--help)");
    return 2;
}
return parsed.Invoke();
