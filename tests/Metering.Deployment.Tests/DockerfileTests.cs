using System.Text.RegularExpressions;

namespace Metering.Deployment.Tests;

public partial class DockerfileTests
{
    private static readonly IReadOnlyList<(string Keyword, string Arguments)> Instructions =
        ParseDockerfile(Repo.ReadText("deploy/Dockerfile"));

    /// <summary>COPY sources from the build context (not from another stage).</summary>
    private static IEnumerable<string> CopiedFromContext() =>
        Instructions
            .Where(i => i.Keyword == "COPY")
            .Select(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(words => !words.Any(w => w.StartsWith("--from=")))
            .SelectMany(words => words.Where(w => !w.StartsWith("--")).SkipLast(1));

    [Fact]
    public void Every_file_the_Dockerfile_copies_exists()
    {
        var sources = CopiedFromContext().ToList();

        Assert.NotEmpty(sources);
        Assert.All(sources, source => Assert.True(
            File.Exists(Repo.PathOf(source)) || Directory.Exists(Repo.PathOf(source)),
            $"deploy/Dockerfile copies {source}, which is not in the repository"));
    }

    [Fact]
    public void Restore_layer_copies_every_project_under_services()
    {
        var copied = CopiedFromContext().Where(s => s.EndsWith(".csproj")).Order();

        var projects = Directory.EnumerateFiles(Repo.PathOf("services"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Repo.Root, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Order();
        Assert.Equal(projects, copied);
    }

    [Fact]
    public void Restore_layer_has_the_build_settings_the_projects_need()
    {
        var copied = CopiedFromContext().ToList();

        Assert.Contains("global.json", copied);
        Assert.Contains("Directory.Build.props", copied);
        Assert.Contains("Directory.Packages.props", copied);
        Assert.Contains("protos/", copied);
        Assert.Contains("services/", copied);
    }

    [Theory]
    [InlineData("Accounts")]
    [InlineData("Readings")]
    [InlineData("Billing")]
    [InlineData("Payments")]
    [InlineData("Standalone")]
    public void Every_service_the_build_argument_selects_has_its_project(string service)
    {
        var run = Instructions.Single(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet restore")).Arguments;

        var project = service == "Standalone"
            ? "services/Metering.Standalone/Metering.Standalone.csproj"
            : $"services/{service}/Metering.{service}.csproj";
        Assert.True(File.Exists(Repo.PathOf(project)), $"{project} is missing");
        Assert.Contains(service == "Standalone" ? project : "services/$SERVICE/Metering.$SERVICE.csproj", run);
        Assert.Matches($@"[ |]{service}[|)]", run);
    }

    [Fact]
    public void Runtime_stage_is_aspnet_10_as_a_non_root_user_on_8080_and_8081()
    {
        var stages = Instructions.Where(i => i.Keyword == "FROM").Select(i => i.Arguments).ToList();
        var runtime = Instructions.SkipWhile(i => i != Instructions.Last(i => i.Keyword == "FROM")).ToList();

        Assert.Equal(2, stages.Count);
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}", stages[0]);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}", stages[1]);
        Assert.Contains(Instructions, i => i.Keyword == "ARG" && i.Arguments == "DOTNET_VERSION=10.0");
        Assert.Contains(runtime, i => i.Keyword == "EXPOSE" && i.Arguments == "8080 8081");
        var user = Assert.Single(runtime, i => i.Keyword == "USER").Arguments;
        Assert.NotEqual("root", user);
        Assert.Contains(Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish") && i.Arguments.Contains("-c Release"));
    }

    [Fact]
    public void Runtime_stage_listens_on_the_ports_it_exposes()
    {
        var env = string.Join(' ', Instructions.Where(i => i.Keyword == "ENV").Select(i => i.Arguments));

        Assert.Contains("Kestrel__Endpoints__Http__Url=http://+:8080", env);
        Assert.Contains("Kestrel__Endpoints__Http__Protocols=Http1", env);
        Assert.Contains("Kestrel__Endpoints__Grpc__Url=http://+:8081", env);
        Assert.Contains("Kestrel__Endpoints__Grpc__Protocols=Http2", env);
    }

    [Fact]
    public void Docker_ignore_keeps_local_build_output_out_but_not_the_sources()
    {
        var patterns = Repo.ReadText(".dockerignore").Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();

        Assert.Contains("**/bin/", patterns);
        Assert.Contains("**/obj/", patterns);
        Assert.All(CopiedFromContext(), source =>
            Assert.DoesNotContain(patterns, p => p.TrimEnd('/') == source.TrimEnd('/')));
    }

    /// <summary>Instructions with continuation lines joined and comments dropped.</summary>
    private static List<(string Keyword, string Arguments)> ParseDockerfile(string text)
    {
        var joined = ContinuationRegex().Replace(text, " ");
        return joined.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ', 2))
            .Select(parts => (parts[0].ToUpperInvariant(), parts.Length > 1 ? WhitespaceRegex().Replace(parts[1], " ").Trim() : ""))
            .ToList();
    }

    [GeneratedRegex(@"\\\s*\n(\s*#[^\n]*\n)*")]
    private static partial Regex ContinuationRegex();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRegex();
}
