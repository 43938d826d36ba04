using System.Reflection;
using System.Text;
using Diffusion.Torch;
using Xunit;

namespace Diffusion.Snapshot.Tests;

/// <summary>The binding's public surface is reviewed like a model summary: any change shows up as a snapshot diff.</summary>
public class PublicApiTests
{
    [Fact]
    public void Diffusion_Torch_public_api() => Snapshot.Match(Describe(typeof(Tensor).Assembly));

    internal static string Describe(Assembly assembly)
    {
        var sb = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            sb.AppendLine(type.FullName!.Replace('+', '.'));
            var members = type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => m is not MethodInfo { IsSpecialName: true } || m.Name.StartsWith("op_", StringComparison.Ordinal))
                .Where(m => m is not Type)
                .Select(Signature)
                .Distinct()
                .OrderBy(s => s, StringComparer.Ordinal);
            foreach (var m in members) sb.AppendLine("  " + m);
        }
        return sb.ToString();
    }

    private static string Signature(MemberInfo m) => m switch
    {
        MethodInfo mi => $"{(mi.IsStatic ? "static " : "")}{Name(mi.ReturnType)} {mi.Name}({Parameters(mi)})",
        ConstructorInfo ci => $"ctor({Parameters(ci)})",
        PropertyInfo pi => $"{Name(pi.PropertyType)} {pi.Name} {{{(pi.CanRead ? " get;" : "")}{(pi.CanWrite ? " set;" : "")} }}",
        FieldInfo fi => $"{(fi.IsStatic ? "static " : "")}{Name(fi.FieldType)} {fi.Name}",
        EventInfo ei => $"event {ei.Name}",
        _ => m.Name,
    };

    private static string Parameters(MethodBase m) => string.Join(", ", m.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}"));

    private static string Name(Type t) =>
        t.IsGenericType
            ? $"{t.Name[..t.Name.IndexOf('`')]}<{string.Join(", ", t.GetGenericArguments().Select(Name))}>"
            : t.IsArray ? Name(t.GetElementType()!) + "[]" : t.IsByRef ? Name(t.GetElementType()!) + "&" : t.Name;
}
