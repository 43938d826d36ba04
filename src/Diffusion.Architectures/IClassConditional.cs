namespace Diffusion.Architectures;

/// <summary>A model config that takes class labels 0…NumClasses−1, with label NumClasses as the null class.</summary>
public interface IClassConditional
{
    int NumClasses { get; }
}
