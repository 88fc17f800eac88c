#!/usr/bin/env bash
# Makes sure a RabbitMQ broker runs on localhost:5672 with the management API on :15672, for the
# end-to-end tests. Installs Debian's rabbitmq-server when it is missing (as root, or through sudo)
# and starts it without systemd. Safe to run again: it does nothing when the broker is up.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    echo "ensure-rabbitmq: need root to run '$*' (or install rabbitmq-server yourself)" >&2
    exit 1
  fi
}

broker_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
management_up() { curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1; }

if broker_up && management_up; then
  echo "RabbitMQ is already running (5672, management 15672)."
  exit 0
fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "Installing Debian's rabbitmq-server..."
  as_root apt-get -o DPkg::Lock::Timeout=300 update -qq
  # "policy-rc.d denied execution of start" is expected in containers: we start it ourselves below.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq rabbitmq-server >/dev/null
fi

# Erlang's node name is rabbit@<short hostname>, which must resolve.
host=$(hostname -s)
if ! getent hosts "$host" >/dev/null; then
  echo "127.0.0.1 $host" | as_root tee -a /etc/hosts >/dev/null
fi

as_root rabbitmq-plugins enable --offline rabbitmq_management >/dev/null

if ! broker_up; then
  echo "Starting RabbitMQ..."
  as_root rabbitmq-server -detached
fi
as_root rabbitmqctl wait --timeout 120 "/var/lib/rabbitmq/mnesia/rabbit@${host}.pid" >/dev/null

for _ in $(seq 1 60); do
  management_up && break
  sleep 1
done
if ! management_up; then
  # A broker started earlier without the plugin: enable it online.
  as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
  for _ in $(seq 1 60); do management_up && break; sleep 1; done
fi
management_up || { echo "RabbitMQ management API did not come up on :15672" >&2; exit 1; }
echo "RabbitMQ is running (5672, management 15672)."
