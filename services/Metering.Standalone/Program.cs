using Metering.Hosting;
using Metering.Standalone;

var builder = WebApplication.CreateBuilder(args);
builder.AddMetering(StandaloneHost.Modules());

var app = builder.Build();
app.MapMetering();
app.Run();
