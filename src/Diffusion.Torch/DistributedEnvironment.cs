using System.Globalization;

namespace Diffusion.Torch;

/// <summary>
/// Where a process sits in a distributed job, in torchrun's environment variables: <c>RANK</c>, <c>WORLD_SIZE</c>,
/// <c>LOCAL_RANK</c>, <c>MASTER_ADDR</c>, <c>MASTER_PORT</c> (what torchrun, SLURM wrappers and Kubernetes operators set).
/// </summary>
public sealed record DistributedEnvironment(int Rank, int WorldSize, int LocalRank, string MasterAddr, int MasterPort)
{
    public const string RankVar = "RANK", WorldSizeVar = "WORLD_SIZE", LocalRankVar = "LOCAL_RANK", MasterAddrVar = "MASTER_ADDR", MasterPortVar = "MASTER_PORT";

    /// <summary>
    /// The job described by the environment; null when <c>WORLD_SIZE</c> is unset (a single process). Every malformed or
    /// missing variable is reported at once.
    /// </summary>
    public static DistributedEnvironment? FromEnvironment() => From(Environment.GetEnvironmentVariable);

    /// <summary><see cref="FromEnvironment"/> over any variable lookup (tests, launchers).</summary>
    public static DistributedEnvironment? From(Func<string, string?> lookup)
    {
        if (string.IsNullOrEmpty(lookup(WorldSizeVar))) return null;
        var errors = new List<string>();
        int Int(string name, int min, int max, int? fallback = null)
        {
            var text = lookup(name);
            if (string.IsNullOrEmpty(text))
            {
                if (fallback is { } f) return f;
                errors.Add($"{name} is not set");
                return min;
            }
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            {
                errors.Add($"{name}={text} is not an integer in {min}..{max}");
                return min;
            }
            return v;
        }
        var world = Int(WorldSizeVar, 1, 1 << 20);
        var rank = Int(RankVar, 0, Math.Max(0, world - 1));
        var local = Int(LocalRankVar, 0, 1 << 20, fallback: rank);
        var port = Int(MasterPortVar, 1, 65535);
        var addr = lookup(MasterAddrVar);
        if (string.IsNullOrEmpty(addr)) errors.Add($"{MasterAddrVar} is not set");
        if (errors.Count > 0) throw new ArgumentException($"distributed environment: {string.Join("; ", errors)}");
        return new DistributedEnvironment(rank, world, local, addr!, port);
    }

    /// <summary>The variables a launcher sets for <paramref name="rank"/> of a job on this machine.</summary>
    public IReadOnlyDictionary<string, string> ToVariables() => new Dictionary<string, string>
    {
        [RankVar] = Rank.ToString(CultureInfo.InvariantCulture),
        [WorldSizeVar] = WorldSize.ToString(CultureInfo.InvariantCulture),
        [LocalRankVar] = LocalRank.ToString(CultureInfo.InvariantCulture),
        [MasterAddrVar] = MasterAddr,
        [MasterPortVar] = MasterPort.ToString(CultureInfo.InvariantCulture),
    };
}
