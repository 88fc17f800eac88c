using Metering.Payments;
using Metering.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddMetering(new PaymentsModule());

var app = builder.Build();
app.MapMetering();
app.Run();
