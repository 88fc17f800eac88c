namespace Metering.EndToEnd.Tests;

/// <summary>Where the built services are, found from this test assembly's own location.</summary>
internal static class RepoLayout
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration this test assembly was built in, and so were the services.</summary>
    public static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name is { } name && name is "Debug" or "Release" ? name : "Debug";

    public static string ServiceDll(string service)
    {
        var project = service == "Standalone" ? "Metering.Standalone" : service;
        var path = Path.Combine(Root, "services", project, "bin", Configuration, "net10.0", $"Metering.{service}.dll");
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{path} is missing: build the solution first (scripts/test.sh builds it, or dotnet build -c {Configuration})");
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Metering.sln")))
                return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (Metering.sln) above " + AppContext.BaseDirectory);
    }
}
