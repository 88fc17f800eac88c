using Metering.Billing;
using Metering.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddMetering(new BillingModule());

var app = builder.Build();
app.MapMetering();
app.Run();
