using Metering.Hosting;
using Metering.Standalone;

// `hash-key <keyId> <role>` makes a new API key: the secret for the client, the hash for the configuration.
if (args is ["hash-key", ..])
    return KeyCommand.Run(args[1..]);

var builder = WebApplication.CreateBuilder(args);
builder.AddMetering(StandaloneHost.Modules());

var app = builder.Build();
app.MapMetering();
app.Run();
return 0;
