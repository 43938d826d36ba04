using System.Runtime.InteropServices;
using Diffusion.Torch.Native;
using Xunit;

namespace Diffusion.Torch.Tests;

/// <summary>
/// The op-code enums and the shim's switch statements are both made from native/src/opcodes.def, so they cannot
/// disagree in one build; this catches a shim built from another version of the file (a stale or foreign
/// libdiffusion_native.so), and a mirror re-typed by hand.
/// </summary>
public class OpCodeTests
{
    [Theory]
    [InlineData(typeof(UnaryOp))]
    [InlineData(typeof(BinaryOp))]
    [InlineData(typeof(ReduceOp))]
    public void The_shim_numbers_every_op_code_as_the_enum_does(Type type)
    {
        var managed = Enum.GetValues(type).Cast<object>().Select(v => (Code: Convert.ToInt32(v), Name: v.ToString()!)).OrderBy(v => v.Code).ToArray();
        var native = new List<(int, string)>();
        for (var code = 0; ; code++)
        {
            Assert.Equal(0, NativeMethods.dt_opcode_name(type.Name, code, out var name));
            if (name == IntPtr.Zero) break;
            native.Add((code, Marshal.PtrToStringUTF8(name)!));
        }
        Assert.NotEmpty(native);
        Assert.Equal(native, managed.Select(v => (v.Code, v.Name)));
    }

    [Fact]
    public void An_unknown_enum_name_is_an_error()
    {
        Assert.NotEqual(0, NativeMethods.dt_opcode_name("NoSuchOp", 0, out _));
    }
}
