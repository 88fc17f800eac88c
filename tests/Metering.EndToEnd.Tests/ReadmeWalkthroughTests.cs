using System.Diagnostics;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Metering.EndToEnd.Tests;

/// <summary>
/// The README's curl walk-through, run verbatim with bash against the standalone host started as
/// its own process on the README's ports: if the README drifts from the system, this fails.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ReadmeWalkthroughTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_README_walkthrough_works_verbatim_against_the_standalone_host()
    {
        var script = ExtractWalkthrough(await File.ReadAllTextAsync(Path.Combine(RepoLayout.Root, "README.md")));
        foreach (var port in new[] { 5080, 5081 })
            Assert.False(InUse(port), $"port {port} is taken: stop whatever listens there (a standalone host?) and run again");

        var data = Path.Combine(Path.GetTempPath(), "metering-readme", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        await using var host = ServiceProcess.Start("Standalone", data, new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Http__Url"] = "http://localhost:5080",
            ["Kestrel__Endpoints__Grpc__Url"] = "http://localhost:5081",
        }, httpPort: 5080, grpcPort: 5081);
        try
        {
            await host.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            var (exitCode, stdout, stderr) = await RunBashAsync("set -euo pipefail\n" + script, data);
            output.WriteLine(stdout);

            Assert.True(exitCode == 0, $"the walk-through failed ({exitCode}): {stderr}\n{stdout}");
            Assert.Matches(@"user number: 1\d{9}", stdout);
            Assert.Contains("\"amountFen\":33200", stdout);
            Assert.Contains("\"amountFen\":17158", stdout);
            Assert.Contains("\"amountFen\":52290", stdout);
            Assert.Contains("\"outstandingFen\":102648", stdout);
            Assert.Contains("{\"outstandingFen\":52648,\"creditFen\":0}", stdout);
            Assert.Contains("\"field\":\"user_number\"", stdout);
        }
        catch
        {
            output.WriteLine(host.Tail(60));
            throw;
        }
        finally
        {
            await host.KillAsync();
            try { Directory.Delete(data, recursive: true); }
            catch (IOException) { }
        }
    }

    private static string ExtractWalkthrough(string readme)
    {
        var start = readme.IndexOf("<!-- walkthrough:start -->", StringComparison.Ordinal);
        var end = readme.IndexOf("<!-- walkthrough:end -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "README.md has no walkthrough block");
        var block = readme[start..end];
        var open = block.IndexOf("```bash", StringComparison.Ordinal) + "```bash".Length;
        var close = block.LastIndexOf("```", StringComparison.Ordinal);
        return block[open..close];
    }

    private static bool InUse(int port)
    {
        try
        {
            using var tcp = new TcpClient();
            tcp.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<(int, string, string)> RunBashAsync(string script, string workingDirectory)
    {
        var file = Path.Combine(workingDirectory, "walkthrough.sh");
        await File.WriteAllTextAsync(file, script);
        var info = new ProcessStartInfo("bash", file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var bash = Process.Start(info)!;
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await bash.WaitForExitAsync(timeout.Token);
        return (bash.ExitCode, await stdout, await stderr);
    }
}
