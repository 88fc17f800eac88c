using System.Reflection;

namespace Metering.Deployment.Tests;

/// <summary>
/// The repository under test: the folder with Metering.sln above the test binaries, or, when they were
/// built elsewhere (--artifacts-path), above the test project's sources.
/// </summary>
internal static class Repo
{
    public static readonly string Root = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    public static string ReadText(string relative) => File.ReadAllText(PathOf(relative));

    private static string FindRoot()
    {
        var projectDirectory = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "ProjectDirectory")?.Value;
        string?[] starts = [AppContext.BaseDirectory, projectDirectory];
        foreach (var start in starts.OfType<string>())
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Metering.sln")))
                    return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Metering.sln above {AppContext.BaseDirectory} or {projectDirectory}");
    }
}
