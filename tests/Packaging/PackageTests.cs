using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace Diffusion.Packaging.Tests;

// One class, so one fixture: the solution is packed once per run and the tool installed once.
public sealed class PackageTests(PackedFeed packed) : IClassFixture<PackedFeed>
{
    private static readonly TimeSpan Minutes3 = TimeSpan.FromMinutes(3);

    private static string NativeRid => $"linux-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";

    [Fact]
    public void The_feed_holds_one_package_per_layer_and_the_tool_at_one_version()
    {
        var expected = PackedFeed.LibraryPackageIds.Append(PackedFeed.ToolPackageId).Select(id => $"{id}.{packed.Version}.nupkg").Order();
        // Test and bench projects are not packable: nothing else is in the feed.
        Assert.Equal(expected, Directory.GetFiles(packed.Feed).Select(Path.GetFileName).Order());
        Assert.Matches(@"^0\.\d+\.\d+$", packed.Version);
    }

    /// <summary>The packages from NuGet a library needs besides the layer below: Diffusion.Training's checkpoint manifests hash with XxHash3.</summary>
    private static readonly Dictionary<string, string[]> ExternalDependencies = new() { ["Diffusion.Training"] = ["System.IO.Hashing"] };

    [Fact]
    public void Every_package_has_its_metadata_and_the_README_and_depends_on_the_layer_below()
    {
        string? below = null;
        foreach (var id in PackedFeed.LibraryPackageIds.Append(PackedFeed.ToolPackageId))
        {
            using var zip = ZipFile.OpenRead(packed.PackagePath(id));
            var meta = Nuspec(zip).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Get(string name) => meta.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal(id, Get("id"));
            Assert.Equal(packed.Version, Get("version"));
            Assert.False(string.IsNullOrWhiteSpace(Get("description")), $"{id}: no description");
            Assert.False(string.IsNullOrWhiteSpace(Get("authors")), $"{id}: no authors");
            Assert.Contains("libtorch", Get("tags"));
            Assert.Equal("README.md", Get("readme"));
            Assert.NotNull(zip.GetEntry("README.md"));
            var dependencies = meta.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToList();
            if (id == PackedFeed.ToolPackageId)
            {
                // A tool package carries what it needs; it is declared as one and names the command.
                Assert.Empty(dependencies);
                Assert.Contains(meta.Descendants(), e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetTool");
                using var settings = zip.Entries.Single(e => e.FullName.EndsWith("/DotnetToolSettings.xml")).Open();
                Assert.Equal("diffusion", XDocument.Load(settings).Descendants("Command").Single().Attribute("Name")!.Value);
            }
            else
            {
                var expected = (below is null ? Array.Empty<string>() : new[] { below }).Concat(ExternalDependencies.GetValueOrDefault(id, []));
                Assert.Equal(expected.Order(), dependencies.Order());
                below = id;
            }
        }
    }

    [Fact]
    public void The_binding_package_carries_the_shim_as_a_native_runtime_asset()
    {
        using var zip = ZipFile.OpenRead(packed.PackagePath("Diffusion.Torch"));
        var shim = zip.GetEntry($"runtimes/{NativeRid}/native/libdiffusion_native.so");
        Assert.NotNull(shim);
        var built = new FileInfo(Path.Combine(PackedFeed.RepoRoot, "native", "build", "system", "libdiffusion_native.so"));
        // The system-libtorch build's shim (a LIBTORCH build packs its own folder's, which has another name).
        if (built.Exists) Assert.Equal(built.Length, shim!.Length);
        // Only there: not as content, which would copy it into the consumer's project or output a second time.
        Assert.Single(zip.Entries, e => e.Name == "libdiffusion_native.so");
    }

    [Fact]
    public void A_fresh_project_restores_the_library_from_the_feed_and_runs_a_model()
    {
        var project = Directory.CreateDirectory(Path.Combine(packed.Root, "consumer")).FullName;
        File.Copy(packed.NuGetConfig, Path.Combine(project, "nuget.config"));
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), """
            using Diffusion.Architectures;
            using Diffusion.Torch;

            using var model = Presets.Get("mlp-seed").Build(new Generator(0));
            using var g = new Generator(1);
            using var y = model.Forward(torch.randn([4, 2], g), torch.full([4], 500.0));
            Console.WriteLine($"parameters {model.Module.ParameterCount}");
            Console.WriteLine($"output [{string.Join(", ", y.shape)}] finite {y.isfinite().all().item<bool>()}");
            """);

        packed.Run(project, Minutes3, "add", "package", "Diffusion.Architectures", "--version", packed.Version);
        packed.Run(project, Minutes3, "build", "-c", "Release", "-nologo", "-v", "quiet");
        var output = Path.Combine(project, "bin", "Release", "net10.0");
        // The shim came from the package's runtimes folder (nothing put it beside the program), so that is where it loads from.
        Assert.True(File.Exists(Path.Combine(output, "runtimes", NativeRid, "native", "libdiffusion_native.so")), "no shim under runtimes/ in the output");
        Assert.False(File.Exists(Path.Combine(output, "libdiffusion_native.so")), "the shim was copied beside the program");

        var run = packed.Exec("dotnet", project, Minutes3, Path.Combine(output, "Consumer.dll"));
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(new[] { "parameters 37762", "output [4, 2] finite True" }, run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void The_installed_tool_runs_diffusion_info()
    {
        var run = packed.Exec(Path.Combine(packed.ToolPath, "diffusion"), packed.Root, Minutes3, "info");
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Matches(@"libtorch\s*│\s*1\.13", run.StdOut);
    }

    [Fact]
    public void The_installed_tool_on_a_system_without_libtorch_names_the_apt_package_in_one_line()
    {
        // A machine without libtorch, made without uninstalling it: a copy of the installed tool whose shim names
        // libtorch's libraries at a version no system has (libc10.so.1.13 → libc10.so.0.00, same length, so the ELF
        // stays valid). The dynamic loader then fails on the real shim exactly as it does when libtorch1.13 is missing.
        var installed = Directory.GetFiles(Path.Combine(packed.ToolPath, ".store"), "diffusion.dll", SearchOption.AllDirectories).Single();
        var copy = Path.Combine(packed.Root, "tool-without-libtorch");
        CopyDirectory(Path.GetDirectoryName(installed)!, copy);
        var shim = Path.Combine(copy, "libdiffusion_native.so");
        var renamed = HideLibTorchDependencies(shim);
        Assert.True(renamed.Count > 0, "the shim names no versioned libtorch library (libtorch.so.X, libc10.so.X): built against another libtorch?");

        var run = packed.Exec("dotnet", copy, Minutes3, Path.Combine(copy, "diffusion.dll"), "info");

        Assert.Equal(1, run.ExitCode);
        var lines = run.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: libtorch is not installed: sudo apt-get install libtorch1.13 ", line);
        Assert.Contains(renamed, name => line.Contains(name)); // names the library the loader could not find
        Assert.DoesNotContain("DllNotFoundException", run.Output);
        Assert.DoesNotContain("   at ", run.Output); // no stack trace
    }

    /// <summary>Renames the shim's libtorch dependencies in place to versions that do not exist; returns the new names.</summary>
    private static List<string> HideLibTorchDependencies(string shim)
    {
        var bytes = File.ReadAllBytes(shim);
        var text = Encoding.Latin1.GetString(bytes); // one char per byte, so offsets match
        var renamed = new List<string>();
        foreach (Match m in Regex.Matches(text, @"lib(?:c10|torch_cpu|torch)\.so\.([0-9.]+)\0"))
        {
            var version = m.Groups[1];
            var hidden = Regex.Replace(version.Value, "[0-9]", "0");
            Encoding.Latin1.GetBytes(hidden, 0, hidden.Length, bytes, version.Index);
            renamed.Add(m.Value[..(version.Index - m.Index)] + hidden);
        }
        File.WriteAllBytes(shim, bytes);
        return renamed;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    private static XDocument Nuspec(ZipArchive zip)
    {
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec") && !e.FullName.Contains('/')).Open();
        return XDocument.Load(stream);
    }
}
