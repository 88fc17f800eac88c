namespace Metering.Deployment.Tests;

public class KubernetesManifestTests
{
    private const string Folder = "deploy/k8s";

    private static readonly IReadOnlyList<Node> Objects = ManifestFiles()
        .SelectMany(Yaml.LoadAll)
        .ToList();

    private static IEnumerable<string> ManifestFiles() =>
        Directory.EnumerateFiles(Repo.PathOf(Folder))
            .Where(f => f.EndsWith(".yaml") || f.EndsWith(".yml"))
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .Order();

    private static Node Find(string kind, string name)
    {
        var matches = Objects.Where(o => o["kind"].Text == kind && o["metadata"]["name"].Text == name).ToList();
        return Assert.Single(matches);
    }

    private static Node Container(string service) =>
        Assert.Single(Find("Deployment", service)["spec"]["template"]["spec"]["containers"].Items);

    [Fact]
    public void Kustomization_lists_every_manifest_and_nothing_else()
    {
        var kustomization = Yaml.Load(Repo.PathOf($"{Folder}/kustomization.yaml"));

        var listed = kustomization["resources"].Items.Select(r => r.Text).Order();
        var present = ManifestFiles().Select(Path.GetFileName).Order();
        Assert.Equal(present, listed);
        Assert.Equal("metering", kustomization["namespace"].Text);
    }

    [Fact]
    public void Every_manifest_is_a_named_kubernetes_object()
    {
        Assert.NotEmpty(Objects);
        Assert.All(Objects, o =>
        {
            Assert.NotEmpty(o["apiVersion"].Text);
            Assert.NotEmpty(o["kind"].Text);
            Assert.NotEmpty(o["metadata"]["name"].Text);
        });
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Service_runs_two_replicas_with_rolling_updates(string name)
    {
        var deployment = Find("Deployment", name.ToLowerInvariant());

        Assert.Equal("apps/v1", deployment["apiVersion"].Text);
        Assert.Equal("2", deployment["spec"]["replicas"].Text);
        Assert.Equal("RollingUpdate", deployment["spec"]["strategy"]["type"].Text);
        var selector = deployment["spec"]["selector"]["matchLabels"];
        var labels = deployment["spec"]["template"]["metadata"]["labels"];
        Assert.All(selector.Keys, key => Assert.Equal(selector[key].Text, labels[key].Text));
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Probes_use_grpc_health_on_the_grpc_port(string name)
    {
        var container = Container(name.ToLowerInvariant());

        Assert.Equal("8081", container["readinessProbe"]["grpc"]["port"].Text);
        Assert.Equal("", container["readinessProbe"]["grpc"]["service"].Text);
        Assert.Equal("8081", container["livenessProbe"]["grpc"]["port"].Text);
        Assert.Equal("liveness", container["livenessProbe"]["grpc"]["service"].Text);
        // Migrations run before the ports open: the startup probe must allow minutes, not seconds.
        var startup = container["startupProbe"];
        Assert.Equal("8081", startup["grpc"]["port"].Text);
        Assert.True(int.Parse(startup["periodSeconds"].Text) * int.Parse(startup["failureThreshold"].Text) >= 120);
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Container_exposes_http_and_grpc_and_has_resource_bounds(string name)
    {
        var container = Container(name.ToLowerInvariant());

        var ports = container["ports"].Items.ToDictionary(p => p["name"].Text, p => p["containerPort"].Text);
        Assert.Equal("8080", ports["http"]);
        Assert.Equal("8081", ports["grpc"]);
        Assert.NotEmpty(container["resources"]["requests"]["memory"].Text);
        Assert.NotEmpty(container["resources"]["limits"]["memory"].Text);
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Pods_run_as_a_non_root_user_without_privileges(string name)
    {
        var pod = Find("Deployment", name.ToLowerInvariant())["spec"]["template"]["spec"];
        var container = Container(name.ToLowerInvariant());

        Assert.Equal("true", pod["securityContext"]["runAsNonRoot"].Text);
        Assert.NotEqual("0", pod["securityContext"]["runAsUser"].Text);
        Assert.Equal("false", container["securityContext"]["allowPrivilegeEscalation"].Text);
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Kubernetes_service_exposes_http_and_h2c_grpc(string name)
    {
        var service = Find("Service", name.ToLowerInvariant());

        var ports = service["spec"]["ports"].Items.ToDictionary(p => p["name"].Text);
        Assert.Equal("8080", ports["http"]["port"].Text);
        Assert.Equal("8081", ports["grpc"]["port"].Text);
        Assert.Equal("kubernetes.io/h2c", ports["grpc"]["appProtocol"].Text);
        Assert.Equal(name.ToLowerInvariant(), service["spec"]["selector"]["app.kubernetes.io/name"].Text);
    }

    [Theory]
    [MemberData(nameof(Services.Names), MemberType = typeof(Services))]
    public void Service_gets_shared_settings_and_only_its_own_connection_string(string name)
    {
        var container = Container(name.ToLowerInvariant());
        var secret = Find("Secret", "metering-secrets");

        var envFrom = container["envFrom"].Items.ToList();
        Assert.Equal(2, envFrom.Count);
        Assert.Equal("metering-config", envFrom.Single(e => e.Has("configMapRef"))["configMapRef"]["name"].Text);
        // The API keys (hashes only) are shared by every service, so the whole Secret is read.
        Assert.Equal("metering-api-keys", envFrom.Single(e => e.Has("secretRef"))["secretRef"]["name"].Text);
        var fromSecret = container["env"].Items
            .Where(e => e.Has("valueFrom"))
            .ToDictionary(e => e["name"].Text, e => e["valueFrom"]["secretKeyRef"]);
        string[] expected = [$"ConnectionStrings__{name}", "Bus__RabbitMq__Username", "Bus__RabbitMq__Password"];
        Assert.Equal(expected.Order(), fromSecret.Keys.Order());
        Assert.All(fromSecret.Values, reference =>
        {
            Assert.Equal("metering-secrets", reference["name"].Text);
            Assert.True(secret["stringData"].Has(reference["key"].Text), $"the secret has no key {reference["key"].Text}");
        });
    }

    [Fact]
    public void Api_key_secret_holds_only_hashes_with_an_operator_key()
    {
        var keys = Find("Secret", "metering-api-keys")["stringData"];

        Assert.Equal("operator", keys["Security__Keys__0__Role"].Text);
        Assert.True(keys.Has("Security__Keys__0__SecretHash"));
        Assert.False(keys.Has("Security__DevelopmentKeys"));
    }

    [Fact]
    public void Config_map_selects_sql_server_and_rabbitmq()
    {
        var data = Find("ConfigMap", "metering-config")["data"];

        Assert.Equal("SqlServer", data["Database__Provider"].Text);
        Assert.Equal("RabbitMq", data["Bus__Transport"].Text);
        Assert.NotEmpty(data["Bus__RabbitMq__Host"].Text);
        Assert.Equal("json", data["Logging__Console__FormatterName"].Text);
    }

    [Fact]
    public void Secret_template_holds_placeholders_not_credentials()
    {
        var data = Find("Secret", "metering-secrets")["stringData"];

        Assert.All(data.Keys, key => Assert.Contains("REPLACE_ME", data[key].Text));
    }
}
