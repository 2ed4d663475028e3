# Sourced by scripts/demo.sh and scripts/airflow.sh: the demo PostgreSQL and the Sophos simulator, started
# unless they already run (both left running until `make stop`). Sets server_dsn and simulator_url.
mkdir -p .local/run
server_dsn=$(scripts/pg.sh start demo)
echo "PostgreSQL (demo): ${server_dsn/\/\/postgres:*@/\/\/postgres:***@} (password in .local/pg/demo/password)"

pidfile=.local/run/simulator.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  port=$(cat .local/run/simulator.port)
else
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  setsid .venv/bin/python -m simulator serve --host 127.0.0.1 --port "$port" --scale small --seed 42 \
    >.local/run/simulator.log 2>&1 < /dev/null &
  echo $! >"$pidfile"
  echo "$port" >.local/run/simulator.port
  for _ in $(seq 1 100); do
    python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/_sim/health', timeout=1)" 2>/dev/null && break
    sleep 0.2
  done
fi
simulator_url="http://127.0.0.1:$port"
echo "Sophos simulator: $simulator_url (scale small, seed 42)"
