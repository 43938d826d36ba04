namespace Diffusion.Torch.Serialization;

/// <summary>
/// Makes contiguous CPU tensors from the views a checkpoint describes. A view whose elements lie in storage order
/// (any contiguous tensor, at any offset) is streamed from its record straight into the new tensor; any other view
/// (a transposed or sliced tensor saved as it was) is gathered from the storage, read once per load and shared by
/// every view of it. Tensors that shared a storage in PyTorch come back as independent copies.
/// </summary>
internal sealed class TorchCheckpointTensors(TorchCheckpointArchive archive)
{
    private readonly Dictionary<string, byte[]> storages = new(StringComparer.Ordinal);

    /// <summary>Creates every tensor, in order; if one fails, those already made are freed.</summary>
    public Dictionary<string, Tensor> Materialize(IReadOnlyList<(string Name, CheckpointTensor View)> views)
    {
        var result = new Dictionary<string, Tensor>(views.Count, StringComparer.Ordinal);
        try
        {
            foreach (var (name, view) in views) result.Add(name, Materialize(name, view));
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    private Tensor Materialize(string name, CheckpointTensor view)
    {
        var size = view.DType.ElementSize();
        var bytes = view.Numel() * size;
        var record = archive.StorageRecord(view.StorageKey);
        if (bytes == 0) return torch.empty(view.Shape, view.DType);
        if (IsDense(view))
        {
            using var stream = archive.Open(record, view.StorageOffset * size);
            var tensor = TensorBytes.Fill(view.Shape, view.DType, bytes, (piece, _) => archive.ReadExactly(stream, piece, record));
            try
            {
                archive.Finish(stream, record);
            }
            catch
            {
                tensor.Dispose();
                throw;
            }
            return tensor;
        }
        var storage = Storage(view, record);
        return TensorBytes.Fill(view.Shape, view.DType, bytes, (piece, at) => Gather(storage, view, piece, at / size));
    }

    /// <summary>Row-major strides, ignoring dimensions of size 1 (their stride is never used), as ATen's is_contiguous.</summary>
    private static bool IsDense(CheckpointTensor view)
    {
        long expected = 1;
        for (var d = view.Shape.Length - 1; d >= 0; d--)
        {
            if (view.Shape[d] == 1) continue;
            if (view.Stride[d] != expected) return false;
            expected *= view.Shape[d];
        }
        return true;
    }

    private byte[] Storage(CheckpointTensor view, string record)
    {
        if (!storages.TryGetValue(view.StorageKey, out var bytes))
        {
            bytes = archive.ReadAll(record);
            storages.Add(view.StorageKey, bytes);
        }
        return bytes;
    }

    /// <summary>
    /// Copies elements [first, first + piece/size) of the view in row-major order. The innermost dimension is copied
    /// as one run when its stride is 1. Bounds were checked when the view was read (<see cref="PickleGlobals"/>).
    /// </summary>
    private static void Gather(byte[] storage, CheckpointTensor view, Span<byte> piece, long first)
    {
        var size = view.DType.ElementSize();
        var rank = view.Shape.Length;
        // The multi-index of element `first`.
        var index = new long[rank];
        var rest = first;
        for (var d = rank - 1; d >= 0; d--)
        {
            index[d] = rest % view.Shape[d];
            rest /= view.Shape[d];
        }
        var inner = view.Shape[rank - 1];
        var innerStride = view.Stride[rank - 1];
        for (var written = 0; written < piece.Length;)
        {
            var source = view.StorageOffset;
            for (var d = 0; d < rank; d++) source += index[d] * view.Stride[d];
            var run = innerStride == 1 ? (int)Math.Min(inner - index[rank - 1], (piece.Length - written) / size) : 1;
            storage.AsSpan((int)(source * size), run * size).CopyTo(piece[written..]);
            written += run * size;
            index[rank - 1] += run;
            for (var d = rank - 1; d > 0 && index[d] == view.Shape[d]; d--)
            {
                index[d] = 0;
                index[d - 1]++;
            }
        }
    }
}
