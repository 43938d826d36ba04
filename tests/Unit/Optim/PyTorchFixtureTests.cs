using System.Text.Json;
using Diffusion.Torch.Optim;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Torch.Tests.Optim;

/// <summary>
/// Replays the trajectories of Fixtures/optim_fixture.json (written by make_optim_fixture.py with
/// PyTorch 1.13): same initial params, same gradients per step, the params after every step must agree.
/// </summary>
public class PyTorchFixtureTests(ITestOutputHelper output)
{
    private static readonly JsonElement Cases = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "optim_fixture.json")))
        .RootElement.GetProperty("cases");

    /// <summary>Every case op by op, and the Adam/AdamW cases again with the fused kernel (<see cref="AdamOptions.fused"/>).</summary>
    public static TheoryData<string, bool> CaseNames()
    {
        var data = new TheoryData<string, bool>();
        foreach (var c in Cases.EnumerateObject())
        {
            data.Add(c.Name, false);
            if (c.Value.GetProperty("optimizer").GetString() != "SGD") data.Add(c.Name, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Trajectory_matches_pytorch(string name, bool fused)
    {
        var c = Cases.GetProperty(name);
        using var scope = torch.NewDisposeScope();
        var names = new[] { "a", "b" };
        var ps = names.ToDictionary(n => n, n => torch.tensor(Floats(c.GetProperty("initial").GetProperty(n)), Shape(c, n)).requires_grad_());
        using var opt = Build(c.GetProperty("optimizer").GetString()!, c.GetProperty("options"), names.Select(n => ps[n]), fused);

        var worst = 0.0;
        var bitwise = true;
        var k = 0;
        foreach (var step in c.GetProperty("steps").EnumerateArray())
        {
            foreach (var n in names)
                ps[n].grad = step.GetProperty("grads").TryGetProperty(n, out var g) ? torch.tensor(Floats(g), Shape(c, n)) : null;
            opt.step();
            foreach (var n in names)
            {
                var expected = Floats(step.GetProperty("params").GetProperty(n));
                var actual = ps[n].ToArray<float>();
                for (var i = 0; i < expected.Length; i++)
                {
                    var err = Math.Abs(actual[i] - expected[i]);
                    bitwise &= actual[i] == expected[i];
                    worst = Math.Max(worst, err / Math.Max(Math.Abs(expected[i]), 1e-3));
                    Assert.True(err <= 1e-6 * Math.Abs(expected[i]) + 1e-7,
                        $"{name}, step {k + 1}, param {n}[{i}]: {actual[i]:R} vs PyTorch {expected[i]:R}");
                }
            }
            k++;
        }
        output.WriteLine($"{name}{(fused ? " (fused)" : "")}: {k} steps, worst relative error {worst:E2}, bitwise equal: {bitwise}");
    }

    private static IOptimizer Build(string optimizer, JsonElement o, IEnumerable<Tensor> ps, bool fused)
    {
        double Get(string key, double fallback) => o.TryGetProperty(key, out var v) ? v.GetDouble() : fallback;
        bool Flag(string key) => o.TryGetProperty(key, out var v) && v.GetBoolean();
        if (optimizer == "SGD")
            return torch.optim.SGD(ps, Get("lr", double.NaN), Get("momentum", 0), Get("dampening", 0), Get("weight_decay", 0), Flag("nesterov"), Flag("maximize"));
        var betas = o.TryGetProperty("betas", out var b) ? b.EnumerateArray().Select(x => x.GetDouble()).ToArray() : [0.9, 0.999];
        var options = new AdamOptions
        {
            lr = Get("lr", 1e-3), beta1 = betas[0], beta2 = betas[1], eps = Get("eps", 1e-8),
            weight_decay = Get("weight_decay", optimizer == "AdamW" ? 1e-2 : 0), amsgrad = Flag("amsgrad"), maximize = Flag("maximize"), fused = fused,
        };
        return optimizer switch
        {
            "Adam" => new Adam(ps, options),
            "AdamW" => new AdamW(ps, options),
            _ => throw new InvalidOperationException($"unknown optimizer {optimizer} in the fixture"),
        };
    }

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    private static long[] Shape(JsonElement c, string n) => c.GetProperty("shapes").GetProperty(n).EnumerateArray().Select(v => v.GetInt64()).ToArray();
}
