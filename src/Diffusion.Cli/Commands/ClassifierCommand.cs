using System.CommandLine;
using System.Diagnostics;
using Diffusion.Torch;
using Diffusion.Training.Data;
using Diffusion.Training.Metrics;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion classifier train --out FILE [--epochs N] [--batch N] [--lr X] [--seed N] [--data DIR] [--json]</c>,
/// <c>diffusion classifier eval [--weights FILE] [--data DIR] [--json]</c> and
/// <c>diffusion classifier baselines [--weights FILE] [--n N] [--seed N] [--data DIR] [--json]</c>: the FD-FMNIST feature
/// network — training it (what produced the shipped weights), its test accuracy, and the distances that calibrate it.
/// </summary>
public static class ClassifierCommand
{
    private static Option<string?> DataDir() => new("--data") { Description = $"Fashion-MNIST directory (default ${FashionMnist.DirectoryVariable} or {FashionMnist.DefaultDirectory})" };
    private static Option<string?> Weights() => new("--weights") { Description = "A classifier safetensors file (default: the one shipped in Diffusion.Training)" };

    public static Command Create()
    {
        var command = new Command("classifier", "The Fashion-MNIST classifier whose features FD-FMNIST compares: train it, test it, calibrate the distance");
        command.Subcommands.Add(Train());
        command.Subcommands.Add(Eval());
        command.Subcommands.Add(Baselines());
        command.Subcommands.Add(PlotNfe());
        return command;
    }

    private static Command Train()
    {
        var defaults = new ClassifierTrainingConfig();
        var outFile = new Option<string>("--out") { Description = "The safetensors file to write", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the 60,000 training images", DefaultValueFactory = _ => defaults.Epochs };
        var batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => defaults.Batch };
        var lr = new Option<double>("--lr") { Description = "Peak Adam learning rate (cosine-decayed to 0)", DefaultValueFactory = _ => defaults.LearningRate };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the one generator (init and shuffling)", DefaultValueFactory = _ => defaults.Seed };
        var data = DataDir();
        var json = CliSupport.JsonOption();
        return CliSupport.Command("train", "Train the classifier on the training split and report its test accuracy", r =>
        {
            var config = new ClassifierTrainingConfig(r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr), r.GetValue(seed));
            var errors = config.Errors().ToArray();
            if (errors.Length > 0) throw new ArgumentException(string.Join("; ", errors));
            var plan = new FashionClassifierConfig().Plan().OrThrow();
            var (trainImages, trainLabels) = FashionMnist.Load(r.GetValue(data), train: true);
            var (testImages, testLabels) = FashionMnist.Load(r.GetValue(data), train: false);
            using var _ = trainImages; using var __ = trainLabels; using var ___ = testImages; using var ____ = testLabels;
            var clock = Stopwatch.StartNew();
            double lastLoss = double.NaN;
            using var w = ClassifierTraining.Train(plan, trainImages, trainLabels, config, p =>
            {
                lastLoss = p.Loss;
                if (p.Step % 100 == 0 || p.Step == p.TotalSteps)
                    CliSupport.Err.MarkupLine($"step {p.Step}/{p.TotalSteps} (epoch {p.Epoch}) loss {p.Loss:F4} — {clock.Elapsed.TotalSeconds:F0} s");
            });
            var seconds = clock.Elapsed.TotalSeconds;
            var accuracy = FashionClassifier.Accuracy(plan, w, testImages, testLabels);
            var outPath = r.GetValue(outFile)!;
            FashionClassifierWeights.Save(outPath, plan, w, new Dictionary<string, string>
            {
                ["trained_by"] = $"diffusion classifier train --epochs {config.Epochs} --batch {config.Batch} --lr {config.LearningRate} --seed {config.Seed}",
                ["test_accuracy"] = accuracy.ToString("F4", System.Globalization.CultureInfo.InvariantCulture),
            });
            var sha = FdFmnist.Sha256Hex(File.ReadAllBytes(outPath));
            AnsiConsole.MarkupLine($"{plan.Module.ParameterCount:N0} parameters, {config.Epochs} epochs in {seconds:F0} s; test accuracy [bold]{accuracy:P2}[/]");
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(outPath)}[/] (SHA-256 {sha})");
            if (r.GetValue(json)) CliSupport.JsonLine(new { test_accuracy = accuracy, final_loss = lastLoss, seconds = Math.Round(seconds, 1), sha256 = sha, parameters = plan.Module.ParameterCount });
            return 0;
        }, outFile, epochs, batch, lr, seed, data, json);
    }

    private static Command Eval()
    {
        var weights = Weights();
        var data = DataDir();
        var json = CliSupport.JsonOption();
        return CliSupport.Command("eval", "Test accuracy of a classifier (default: the shipped one) on the 10,000 test images", r =>
        {
            using var fd = Open(r.GetValue(weights));
            var (images, labels) = FashionMnist.Load(r.GetValue(data), train: false);
            using var _ = images; using var __ = labels;
            var accuracy = FashionClassifier.Accuracy(fd.Plan, fd.Weights, images, labels);
            AnsiConsole.MarkupLine($"test accuracy [bold]{accuracy:P2}[/] on {images.size(0):N0} images");
            if (r.GetValue(json)) CliSupport.JsonLine(new { test_accuracy = accuracy, n = images.size(0) });
            return 0;
        }, weights, data, json);
    }

    private static Command Baselines()
    {
        var weights = Weights();
        var n = new Option<int>("--n") { Description = "Images in each set", DefaultValueFactory = _ => 1000 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the draws", DefaultValueFactory = _ => 0UL };
        var data = DataDir();
        var json = CliSupport.JsonOption();
        return CliSupport.Command("baselines", "FD-FMNIST of reference sets against N real test images: real training images (the noise floor), blurred and pixel-shuffled real images", r =>
        {
            var count = r.GetValue(n);
            if (count < 2 || count > 10_000) throw new UsageException($"--n {count}: need 2 … 10000 images (the test split holds 10,000)");
            using var fd = Open(r.GetValue(weights));
            using var g = new Generator(r.GetValue(seed));
            using var scope = torch.NewDisposeScope();
            var (testImages, _) = FashionMnist.Load(r.GetValue(data), train: false);
            var (trainImages, _) = FashionMnist.Load(r.GetValue(data), train: true);
            var reference = testImages.index_select(0, torch.randperm(testImages.size(0), g).narrow(0, 0, count));   // (n, 1, 28, 28)
            var other = trainImages.index_select(0, torch.randperm(trainImages.size(0), g).narrow(0, 0, count));     // (n, 1, 28, 28)
            var real = fd.Statistics(reference);
            var rows = new (string Name, Tensor Images)[]
            {
                ("real (training split)", other),
                ("blurred 3×3", FdBaselines.Blur(other, 3)),
                ("blurred 5×5", FdBaselines.Blur(other, 5)),
                ("pixel-shuffled", FdBaselines.ShufflePixels(other, g)),
                ("Gaussian noise N(0, 1)", torch.randn([count, 1, 28, 28], g)),
            }.Select(x => (x.Name, Fd: FrechetDistance.Compute(fd.Statistics(x.Images), real))).ToList();
            foreach (var (name, value) in rows) AnsiConsole.MarkupLine($"{Markup.Escape(name),-24} FD-FMNIST [bold]{value:F3}[/]");
            if (r.GetValue(json)) CliSupport.JsonLine(new { n = count, rows = rows.Select(x => new { set = x.Name, fd_fmnist = x.Fd }) });
            return 0;
        }, weights, n, seed, data, json);
    }

    private static Command PlotNfe()
    {
        var rows = new Argument<string>("rows") { Description = "A file of `diffusion sample --metrics --json` result lines (one per run; other lines are skipped)" };
        var outFile = new Option<string>("--out") { Description = "The PNG to write", Required = true };
        var command = CliSupport.Command("plot-nfe", "Plot FD-FMNIST against NFE, one line per sampler, from sample --json lines, and print them as a markdown table", r =>
        {
            var path = r.GetValue(rows)!;
            var points = FdNfeTable.Read(path);
            FdNfeTable.Plot(points).Save(r.GetValue(outFile)!);
            Console.Out.Write(FdNfeTable.Markdown(points));
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(r.GetValue(outFile)!)}[/]");
            return 0;
        }, outFile);
        command.Arguments.Add(rows);
        return command;
    }

    private static FdFmnist Open(string? weights) => weights is { } path ? FdFmnist.Load(path) : FdFmnist.Shipped();
}
