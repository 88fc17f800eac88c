using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Metering.Hosting.Messaging;

public enum BusTransport
{
    InMemory,
    RabbitMq,
}

/// <summary>RabbitMQ connection, from <c>Bus:RabbitMq</c>.</summary>
public sealed class RabbitMqOptions
{
    public string Host { get; set; } = "localhost";
    public ushort Port { get; set; } = 5672;
    public string VirtualHost { get; set; } = "/";
    public string Username { get; set; } = "guest";
    public string Password { get; set; } = "guest";
    public bool UseTls { get; set; }
}

/// <summary>
/// One MassTransit bus per process, whatever number of services it hosts. Each service's consumers
/// share one queue named after the service, so replicas of a service compete for its messages and
/// every service gets its own copy of each event.
/// </summary>
public static class MeteringBus
{
    public static BusTransport Transport(IConfiguration configuration)
    {
        var text = configuration["Bus:Transport"];
        if (string.IsNullOrWhiteSpace(text))
            return BusTransport.InMemory;
        // By name only: Enum.TryParse would also take "7" or "InMemory,RabbitMq" and yield no real transport.
        var name = Enum.GetNames<BusTransport>().FirstOrDefault(n => string.Equals(n, text.Trim(), StringComparison.OrdinalIgnoreCase));
        return name is not null
            ? Enum.Parse<BusTransport>(name)
            : throw new InvalidOperationException($"Bus:Transport '{text}' is not one of InMemory, RabbitMq");
    }

    public static IHostApplicationBuilder AddMeteringBus(this IHostApplicationBuilder builder, IEnumerable<ServiceModule> modules)
    {
        var transport = Transport(builder.Configuration);
        var rabbit = builder.Configuration.GetSection("Bus:RabbitMq").Get<RabbitMqOptions>() ?? new RabbitMqOptions();

        builder.Services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            foreach (var module in modules)
                module.AddConsumers(bus);

            if (transport == BusTransport.RabbitMq)
            {
                bus.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
                    {
                        h.Username(rabbit.Username);
                        h.Password(rabbit.Password);
                        if (rabbit.UseTls)
                            h.UseSsl(s => s.ServerName = rabbit.Host);
                    });
                    ConfigureCommon(context, cfg);
                });
            }
            else
            {
                bus.UsingInMemory((context, cfg) => ConfigureCommon(context, cfg));
            }
        });

        builder.Services.Configure<MassTransitHostOptions>(options =>
        {
            // Start serving only once our queues are bound: an event published before that would be lost.
            options.WaitUntilStarted = true;
            options.StartTimeout = TimeSpan.FromSeconds(60);
            options.StopTimeout = TimeSpan.FromSeconds(30);
        });
        return builder;
    }

    /// <summary>Puts a consumer on its service's queue.</summary>
    public static void AddServiceConsumer<TConsumer>(this IBusRegistrationConfigurator bus, string queueName)
        where TConsumer : class, IConsumer
    {
        bus.AddConsumer<TConsumer>().Endpoint(e => e.Name = queueName);
    }

    private static void ConfigureCommon<T>(IBusRegistrationContext context, IBusFactoryConfigurator<T> cfg)
        where T : IReceiveEndpointConfigurator
    {
        // Transient failures (a locked SQLite file, a deadlock victim, a race on the inbox key) are retried;
        // a message that still fails goes to the queue's _error queue for an operator, never silently away.
        cfg.UseMessageRetry(r => r.Exponential(10, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(200)));
        cfg.ConfigureEndpoints(context);
    }
}
