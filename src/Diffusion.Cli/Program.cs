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
return root.Parse(args).Invoke();
