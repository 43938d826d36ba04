namespace Diffusion.Torch;

/// <summary>A libtorch failure: libtorch's message, the operation and the shapes it was given.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string operation, string nativeMessage, string arguments)
        : base($"{operation}({arguments}): {nativeMessage}")
    {
        Operation = operation;
        NativeMessage = nativeMessage;
    }

    public string Operation { get; }

    public string NativeMessage { get; }
}

/// <summary>libtorch could not allocate memory for an operation.</summary>
public sealed class TorchOutOfMemoryException : OutOfMemoryException
{
    public TorchOutOfMemoryException(string message) : base(message) { }
}
