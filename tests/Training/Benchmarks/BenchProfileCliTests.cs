using System.Text.Json;
using Diffusion.Training.Tests.Cli;
using Xunit;

namespace Diffusion.Training.Tests.Benchmarks;

/// <summary><c>diffusion bench --profile N</c>: the case's measured steps per operator instead of a time.</summary>
public class BenchProfileCliTests
{
    [Fact]
    public void Profile_lists_the_largest_operators_per_step_with_the_steps_own_work()
    {
        var (exitCode, stdout, stderr) = CliRunner.Run("bench", "--case", "mlp2d_train_b1024", "--warmup", "1", "--steps", "3", "--threads", "1", "--profile", "8", "--json");
        Assert.True(exitCode == 0, stderr);
        var result = JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal(3, result.GetProperty("steps").GetInt32());
        var ops = result.GetProperty("ops").EnumerateArray().ToList();
        Assert.Equal(8, ops.Count);
        var self = ops.Select(op => op.GetProperty("self_ms_per_step").GetDouble()).ToList();
        Assert.Equal(self.OrderByDescending(s => s), self);
        Assert.All(ops, op => Assert.True(op.GetProperty("total_ms_per_step").GetDouble() >= op.GetProperty("self_ms_per_step").GetDouble()));
        // The case's MLP has four linear layers: each step runs the shim's linear kernel and its backward node four times.
        double CallsPerStep(Func<string, bool> name) => ops.Single(op => name(op.GetProperty("name").GetString()!)).GetProperty("calls_per_step").GetDouble();
        Assert.Equal(4.0, CallsPerStep(n => n == "dt::linear"));
        Assert.Equal(4.0, CallsPerStep(n => n.Contains("LinearFunction")));

        var table = CliRunner.Run("bench", "--case", "mlp2d_train_b1024", "--warmup", "1", "--steps", "3", "--threads", "1", "--profile", "5");
        Assert.True(table.ExitCode == 0, table.Stderr);
        var lines = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("mlp2d_train_b1024: ", lines[0]);
        Assert.Contains("ms/step in profiled operators (3 steps, 1 thread)", lines[0]);
        Assert.Equal(2 + 5, lines.Length); // the summary, the column heads, five operators
    }
}
