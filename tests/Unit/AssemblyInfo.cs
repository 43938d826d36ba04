using Xunit;

// Tests count live native tensors and read process RSS: run them one at a time so they see only their own work.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
