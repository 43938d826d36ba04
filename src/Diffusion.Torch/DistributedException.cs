namespace Diffusion.Torch;

/// <summary>
/// A collective or a rendezvous failed: a peer is gone (its process exited or was killed), it did not answer within the
/// timeout, or the rendezvous address is wrong. The message names this rank, the operation and c10d/gloo's reason.
/// </summary>
public sealed class DistributedException(string message) : Exception(message);
