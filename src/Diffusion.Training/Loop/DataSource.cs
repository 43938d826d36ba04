using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Data;

namespace Diffusion.Training.Loop;

/// <summary>A batch of training data (N, …) and, for labelled sets, its class labels (N) int64.</summary>
public sealed record DataBatch(Tensor X, Tensor? Labels);

/// <summary>
/// Where training batches come from. All randomness is drawn from the generator passed in, so the sampler's whole
/// state is that generator's state (checkpointed as <c>state.json</c>'s data generator).
/// </summary>
public interface IDataSource : IDisposable
{
    string Name { get; }

    /// <summary>Per-sample shape, e.g. [2] or [1, 28, 28].</summary>
    long[] SampleShape { get; }

    /// <summary>Number of classes for labelled sets (the null class for guidance is this value), else null.</summary>
    int? NumClasses { get; }

    DataBatch Next(int batch, Generator generator);
}

/// <summary>A synthetic distribution sampled fresh for every batch (infinite data): the 2-D toy sets and 3-D phantoms.</summary>
public sealed class GeneratedDataSource(string name, long[] sampleShape, Func<int, Generator, Tensor> sample) : IDataSource
{
    public string Name => name;
    public long[] SampleShape => sampleShape;
    public int? NumClasses => null;
    public DataBatch Next(int batch, Generator generator) => new(sample(batch, generator), null);
    public void Dispose() { }
}

/// <summary>An in-memory data set sampled uniformly with replacement.</summary>
public sealed class TensorDataSource(string name, Tensor data, Tensor? labels, int? numClasses) : IDataSource
{
    public string Name => name;
    public long[] SampleShape => data.shape[1..];
    public int? NumClasses => numClasses;

    public DataBatch Next(int batch, Generator generator)
    {
        var index = torch.randint(0, data.shape[0], [batch], generator);               // (B)
        return new(data.index_select(0, index), labels?.index_select(0, index));
    }

    public void Dispose()
    {
        data.Dispose();
        labels?.Dispose();
    }
}

public static class DataSources
{
    /// <summary>Edge of the <c>phantom3d</c> volumes: the 3-D U-Net presets take 32³.</summary>
    public const int PhantomSize = 32;

    /// <summary>The text of <c>--data</c> (or another flag named by <paramref name="where"/>): see <see cref="DataRef.Parse"/>.</summary>
    public static IDataSource Resolve(string text, string where = "--data") => Resolve(DataRef.Parse(text, where));

    /// <summary>
    /// A toy set, <c>phantom3d</c> (1×32³ volumes), <c>fashion-mnist</c> (FashionMnist's default directory), a directory holding the
    /// Fashion-MNIST files, or a .safetensors file with a tensor <c>data</c> (N, …) and optionally <c>labels</c> (N).
    /// </summary>
    public static IDataSource Resolve(DataRef data) => data switch
    {
        DataRef.Named { Set: DataSet.Phantom3d } => new GeneratedDataSource(DataSets.Names.Name(DataSet.Phantom3d), [1, PhantomSize, PhantomSize, PhantomSize], (n, g) => Phantom3d.Sample(n, PhantomSize, g)),
        DataRef.Named { Set: DataSet.FashionMnist } => LoadFashionMnist(null),
        DataRef.Named { Set: var toy } => new GeneratedDataSource(DataSets.Names.Name(toy), [2], (n, g) => ToyDatasets.Sample(toy, n, g)),
        DataRef.Path { Location: var dir } when Directory.Exists(dir) => LoadFashionMnist(dir),
        DataRef.Path { Location: var file } when File.Exists(file) && file.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) => LoadSafetensors(file),
        _ => throw new ArgumentException($"{DataSets.Names.Unknown(data.ToString()!, "data")}, a Fashion-MNIST directory or a .safetensors file"),
    };

    private static TensorDataSource LoadFashionMnist(string? directory)
    {
        var (images, labels) = FashionMnist.Load(directory);
        return new TensorDataSource(DataSets.Names.Name(DataSet.FashionMnist), images.DetachFromDisposeScope(), labels.@long().DetachFromDisposeScope(), 10);
    }

    private static TensorDataSource LoadSafetensors(string file)
    {
        var tensors = Safetensors.Load(file);
        if (!tensors.TryGetValue("data", out var data))
            throw new ArgumentException($"{file}: no tensor named 'data' (found {string.Join(", ", tensors.Keys)})");
        tensors.TryGetValue("labels", out var labels);
        if (TensorDataChecks.Problems(file, data, labels) is { Count: > 0 } problems)
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new InvalidDataException(string.Join("\n", problems));
        }
        int? classes = labels is null ? null : (int)labels.max().item<long>() + 1;
        return new TensorDataSource(Path.GetFileNameWithoutExtension(file), data.@float().DetachFromDisposeScope(), labels?.@long().DetachFromDisposeScope(), classes);
    }
}
