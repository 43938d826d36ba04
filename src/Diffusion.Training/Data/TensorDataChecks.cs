using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Training.Data;

/// <summary>
/// What a .safetensors data file must hold, checked when it is loaded so that a bad file is an error naming the file and
/// what was found, not a libtorch message or a NaN loss steps later: <c>data</c> of rank ≥ 2 (N, …) in float32 or
/// float64, at least one row, every value finite; <c>labels</c>, when present, rank 1 (N) int64, one per data row, each
/// in [0, <see cref="Limits.Classes"/>).
/// </summary>
public static class TensorDataChecks
{
    /// <summary>Every problem with the pair (empty when it can be trained on).</summary>
    public static IReadOnlyList<string> Problems(string file, Tensor data, Tensor? labels)
    {
        var problems = new List<string>();
        if (data.dtype is not (ScalarType.Float32 or ScalarType.Float64))
            problems.Add($"{file}: 'data' is {data.dtype}; expected float32 or float64");
        if (data.dim() < 2)
            problems.Add($"{file}: 'data' has shape [{string.Join(", ", data.shape)}]; expected rank ≥ 2, (N, …) with one sample per row");
        else if (data.shape[0] == 0 || data.numel() == 0)
            problems.Add($"{file}: 'data' has shape [{string.Join(", ", data.shape)}]; expected at least one non-empty sample");
        else if (problems.Count == 0)
        {
            using var scope = torch.NewDisposeScope();
            var badRows = data.isfinite().reshape(data.shape[0], -1).all(1).logical_not();      // (N) bool
            var count = badRows.@long().sum().item<long>();
            if (count > 0)
                problems.Add($"{file}: 'data' has non-finite values (NaN or ±∞) in {count} of {data.shape[0]} rows, the first at row {badRows.@long().argmax().item<long>()}");
        }
        if (labels is null) return problems;
        if (labels.dtype != ScalarType.Int64)
            problems.Add($"{file}: 'labels' is {labels.dtype}; expected int64 class indices");
        if (labels.dim() != 1)
            problems.Add($"{file}: 'labels' has shape [{string.Join(", ", labels.shape)}]; expected rank 1, (N)");
        else if (data.dim() >= 1 && labels.shape[0] != data.shape[0])
            problems.Add($"{file}: {labels.shape[0]} labels for {data.shape[0]} data rows; expected one label per row");
        else if (labels.dtype == ScalarType.Int64 && labels.shape[0] > 0)
        {
            long lo = labels.min().item<long>(), hi = labels.max().item<long>();
            if (lo < 0 || hi >= Limits.Classes.Max)
                problems.Add($"{file}: 'labels' range over [{lo}, {hi}]; expected class indices in [0, {Limits.Classes.Max - 1:N0}]");
        }
        return problems;
    }

    /// <summary>Labels beyond the classes a class-conditional model embeds are an error naming both (unconditional models ignore labels).</summary>
    public static IEnumerable<string> AgainstModel(string data, int? dataClasses, int modelClasses) =>
        Rules.Require(modelClasses == 0 || dataClasses is null || dataClasses <= modelClasses, "",
            $"{data} has labels up to {dataClasses - 1}, but the model takes {modelClasses} classes (labels 0…{modelClasses - 1}): set its num_classes to at least {dataClasses}");
}
