#!/usr/bin/env bash
# Adds an EF Core migration for one service on both providers (SQLite and SQL Server), each in its
# own folder. Usage: scripts/add-migration.sh <Accounts|Readings|Billing|Payments> <MigrationName>
set -euo pipefail
cd "$(dirname "$0")/.."
service=${1:?service: Accounts, Readings, Billing or Payments}
name=${2:?migration name, e.g. AddTariffVersions}
project=services/$service/Metering.$service.csproj
dotnet tool restore >/dev/null
for provider in Sqlite SqlServer; do
  dotnet ef migrations add "$name" --project "$project" --startup-project "$project" \
    --context "${provider}${service}DbContext" --output-dir "Data/Migrations/$provider"
done
