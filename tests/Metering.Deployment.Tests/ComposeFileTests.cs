using System.ComponentModel;
using System.Diagnostics;

namespace Metering.Deployment.Tests;

public class ComposeFileTests
{
    private static readonly Node Compose = Yaml.Load(Repo.PathOf("docker-compose.yml"));

    private static Node Service(string name) => Compose["services"][name];

    [Theory]
    [InlineData("config", "-q")]
    [InlineData("--profile", "standalone", "config", "-q")]
    public void Docker_compose_accepts_the_file(params string[] arguments)
    {
        var (exitCode, output) = RunDockerCompose(arguments);

        Assert.True(exitCode == 0, $"docker-compose {string.Join(' ', arguments)} failed ({exitCode}):\n{output}");
    }

    [Fact]
    public void Sql_server_is_2022_and_checked_with_sqlcmd()
    {
        var sql = Service("sqlserver");

        Assert.Equal("mcr.microsoft.com/mssql/server:2022-latest", sql["image"].Text);
        Assert.Equal("Y", sql["environment"]["ACCEPT_EULA"].Text);
        Assert.StartsWith("${MSSQL_SA_PASSWORD:-", sql["environment"]["MSSQL_SA_PASSWORD"].Text);
        var test = string.Join(' ', sql["healthcheck"]["test"].Items.Select(i => i.Text));
        Assert.Contains("/opt/mssql-tools18/bin/sqlcmd -C", test);
    }

    [Fact]
    public void Rabbitmq_has_the_management_plugin_and_its_own_user()
    {
        var rabbit = Service("rabbitmq");

        Assert.Equal("rabbitmq:3-management", rabbit["image"].Text);
        Assert.DoesNotContain("guest", rabbit["environment"]["RABBITMQ_DEFAULT_USER"].Text);
        Assert.True(rabbit["environment"].Has("RABBITMQ_DEFAULT_PASS"));
        Assert.Equal(["CMD", "rabbitmq-diagnostics", "-q", "ping"], rabbit["healthcheck"]["test"].Items.Select(i => i.Text));
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Service_is_built_from_the_shared_Dockerfile_for_its_own_project(string name)
    {
        var build = Service(name.ToLowerInvariant())["build"];

        Assert.Equal(".", build["context"].Text);
        Assert.Equal("deploy/Dockerfile", build["dockerfile"].Text);
        Assert.Equal(name, build["args"]["SERVICE"].Text);
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Service_has_configured_api_keys_as_hashes_and_no_guest_broker_user(string name)
    {
        var env = Service(name.ToLowerInvariant())["environment"];

        Assert.Equal("operator", env["Security__Keys__0__Role"].Text);
        Assert.Contains("sha256:", env["Security__Keys__0__SecretHash"].Text);
        Assert.DoesNotContain("secret", env["Security__Keys__0__SecretHash"].Text.Replace("SecretHash", ""));
        Assert.DoesNotContain("guest", env["Bus__RabbitMq__Username"].Text);
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Service_runs_on_sql_server_and_rabbitmq(string name)
    {
        var env = Service(name.ToLowerInvariant())["environment"];

        Assert.Equal("SqlServer", env["Database__Provider"].Text);
        Assert.Equal("RabbitMq", env["Bus__Transport"].Text);
        Assert.Equal("rabbitmq", env["Bus__RabbitMq__Host"].Text);
        Assert.Equal("http://+:8080", env["Kestrel__Endpoints__Http__Url"].Text);
        Assert.Equal("Http1", env["Kestrel__Endpoints__Http__Protocols"].Text);
        Assert.Equal("http://+:8081", env["Kestrel__Endpoints__Grpc__Url"].Text);
        Assert.Equal("Http2", env["Kestrel__Endpoints__Grpc__Protocols"].Text);
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Service_has_its_own_database_on_the_one_sql_server(string name)
    {
        var env = Service(name.ToLowerInvariant())["environment"];

        var connectionString = env[$"ConnectionStrings__{name}"].Text;
        Assert.Contains("Server=sqlserver;", connectionString);
        Assert.Contains($"Database=Metering{name};", connectionString);
        var others = Services.All.Select(s => s.Name).Where(n => n != name);
        Assert.All(others, other => Assert.False(env.Has($"ConnectionStrings__{other}"), $"{name} gets {other}'s connection string"));
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Service_starts_once_sql_server_and_rabbitmq_are_healthy(string name)
    {
        var service = Service(name.ToLowerInvariant());

        Assert.Equal("service_healthy", service["depends_on"]["sqlserver"]["condition"].Text);
        Assert.Equal("service_healthy", service["depends_on"]["rabbitmq"]["condition"].Text);
        Assert.NotEqual("no", service["restart"].Text);
    }

    [Fact]
    public void Every_container_has_a_health_check()
    {
        var services = Compose["services"];

        Assert.All(services.Keys, name => Assert.NotEmpty(services[name]["healthcheck"]["test"].Items));
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Service_health_check_asks_for_readiness_on_the_http_port(string name)
    {
        var test = Service(name.ToLowerInvariant())["healthcheck"]["test"].Items.Select(i => i.Text).ToList();

        Assert.Contains("curl", test);
        Assert.Contains("http://localhost:8080/health", test);
    }

    [Fact]
    public void Services_publish_the_ports_of_the_distributed_mode()
    {
        foreach (var (name, http, grpc) in Services.All)
        {
            var ports = Service(name.ToLowerInvariant())["ports"].Items.Select(p => p.Text).ToList();
            Assert.Equal([$"{http}:8080", $"{grpc}:8081"], ports);
        }
    }

    [Fact]
    public void Standalone_host_runs_on_sqlite_and_the_in_memory_bus_behind_a_profile()
    {
        var standalone = Service("standalone");

        Assert.Equal(["standalone"], standalone["profiles"].Items.Select(i => i.Text));
        Assert.Equal("Standalone", standalone["build"]["args"]["SERVICE"].Text);
        Assert.Equal("Sqlite", standalone["environment"]["Database__Provider"].Text);
        Assert.Equal("InMemory", standalone["environment"]["Bus__Transport"].Text);
        Assert.Equal(["5080:8080", "5081:8081"], standalone["ports"].Items.Select(p => p.Text));
    }

    private static (int ExitCode, string Output) RunDockerCompose(string[] arguments)
    {
        var start = new ProcessStartInfo("docker-compose")
        {
            WorkingDirectory = Repo.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("--file");
        start.ArgumentList.Add(Repo.PathOf("docker-compose.yml"));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new Xunit.Sdk.XunitException(
                "docker-compose is not installed, so the compose file cannot be validated. Install it with " +
                $"`apt-get update && apt-get install -y docker-compose` (Debian's v1 is enough). ({e.Message})");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                throw new Xunit.Sdk.XunitException("docker-compose config did not finish within 60 s");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }
}
