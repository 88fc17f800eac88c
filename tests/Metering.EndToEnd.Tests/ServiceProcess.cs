using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Metering.Testing;

namespace Metering.EndToEnd.Tests;

/// <summary>One service running as its own operating-system process, as it runs in production.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly string _workingDirectory;
    private readonly IDictionary<string, string> _environment;
    private readonly bool _portsChosenHere;
    private Process _process = null!;

    private ServiceProcess(string name, string workingDirectory, IDictionary<string, string> environment,
        int httpPort, int grpcPort, bool portsChosenHere)
    {
        Name = name;
        _workingDirectory = workingDirectory;
        _environment = environment;
        HttpPort = httpPort;
        GrpcPort = grpcPort;
        _portsChosenHere = portsChosenHere;
    }

    private const string OperatorKeyId = "e2e-operator";
    private static readonly string OperatorSecret = Metering.Hosting.Security.ApiKeyHasher.NewSecret();

    /// <summary>The <c>x-api-key</c> value of the operator key every process of the test run accepts.</summary>
    public static string OperatorKey => $"{OperatorKeyId}.{OperatorSecret}";

    /// <summary>A gRPC channel to the process that sends the operator key.</summary>
    public Grpc.Net.Client.GrpcChannel OpenChannel() => Grpc.Net.Client.GrpcChannel.ForAddress(GrpcAddress,
        new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = new Metering.Testing.ApiKeyHandler(OperatorKey) { InnerHandler = new SocketsHttpHandler() } });

    public string Name { get; }
    public int HttpPort { get; private set; }
    public int GrpcPort { get; private set; }
    public Uri HttpAddress => new($"http://127.0.0.1:{HttpPort}");
    public Uri GrpcAddress => new($"http://127.0.0.1:{GrpcPort}");

    /// <summary>The last lines the process wrote, for failure messages.</summary>
    public string Tail(int lines = 40) => string.Join(Environment.NewLine, _output.TakeLast(lines));

    public static ServiceProcess Start(string service, string workingDirectory, IDictionary<string, string> environment,
        int? httpPort = null, int? grpcPort = null)
    {
        var started = new ServiceProcess(service, workingDirectory, environment,
            httpPort ?? TestPorts.Next(), grpcPort ?? TestPorts.Next(), portsChosenHere: httpPort is null && grpcPort is null);
        started.Launch();
        return started;
    }

    private void Launch()
    {
        var dll = RepoLayout.ServiceDll(Name);
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = _workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        // appsettings.json sits beside the dll; the SQLite files go to the working directory.
        info.ArgumentList.Add("--contentRoot");
        info.ArgumentList.Add(Path.GetDirectoryName(dll)!);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{HttpPort}";
        info.Environment["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{GrpcPort}";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        // Production refuses to start without configured keys: the test's operator key, as a deployment would set it.
        info.Environment["Security__Keys__0__Id"] = OperatorKeyId;
        info.Environment["Security__Keys__0__Role"] = "operator";
        info.Environment["Security__Keys__0__SecretHash"] = Metering.Hosting.Security.ApiKeyHasher.Hash(OperatorSecret);
        foreach (var (key, value) in _environment)
            info.Environment[key] = value;

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>
    /// A process whose port another program took between our choice and its bind starts again on
    /// new ports; nothing else refers to a process's ports before it is healthy.
    /// </summary>
    private bool RelaunchedAfterPortClash(ref int relaunches)
    {
        _process.WaitForExit(); // drains the output readers, so the cause is in _output
        if (!_portsChosenHere || relaunches >= 3 || !_output.Any(line => line.Contains("address already in use", StringComparison.OrdinalIgnoreCase)))
            return false;
        relaunches++;
        _process.Dispose();
        _output.Clear();
        HttpPort = TestPorts.Next();
        GrpcPort = TestPorts.Next();
        Launch();
        return true;
    }

    /// <summary>Waits until /health says the database and the bus are ready.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer";
        var relaunches = 0;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited && RelaunchedAfterPortClash(ref relaunches))
                continue;
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}:\n{Tail()}");
            try
            {
                var response = await http.GetAsync(new Uri(HttpAddress, "/health"));
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException) when (DateTime.UtcNow < deadline)
            {
                // A host still starting (JIT, migrations, the bus connecting) on a loaded machine may
                // not answer one probe in time; only the overall deadline decides that it never will.
                last = $"no answer within {http.Timeout.TotalSeconds:0} s";
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{Name} was not healthy within {timeout} (last: {last}):\n{Tail()}");
    }

    /// <summary>Ends the process at once, as a crash or an OOM kill would: no graceful shutdown.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
