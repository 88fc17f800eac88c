using Metering.Readings;
using Metering.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddMetering(new ReadingsModule());

var app = builder.Build();
app.MapMetering();
app.Run();
