using Metering.Accounts;
using Metering.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddMetering(new AccountsModule());

var app = builder.Build();
app.MapMetering();
app.Run();
