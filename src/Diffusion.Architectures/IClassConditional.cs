namespace Diffusion.Architectures;

/// <summary>A model config that takes class labels 0…NumClasses−1, with label NumClasses as the null class when it has one.</summary>
public interface IClassConditional
{
    int NumClasses { get; }

    /// <summary>Whether label NumClasses (the null class of classifier-free guidance) is in the model's table.</summary>
    bool HasNullClass => true;
}
