"""docker-compose.yml cannot run here (no Docker engine), so its coherence is checked by parsing it."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml

from simulator import generator
from simulator.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
CELERY_WORKERS = ("airflow-worker-1", "airflow-worker-2")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def interpolated(value: str, environ: dict[str, str]) -> str:
    """`${VAR:-default}` as docker compose resolves it from the shell's environment."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: environ.get(m.group(1)) or m.group(2), value)


def test_airflow_3_services_with_local_executor_and_both_databases():
    services = compose()["services"]
    for name in (*AIRFLOW_SERVICES, "airflow-init", "airflow-db", "warehouse", "simulator"):
        assert name in services, name
    commands = {services[name]["command"] for name in AIRFLOW_SERVICES}
    assert commands == {"api-server", "scheduler", "dag-processor", "triggerer"}
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert interpolated(env["AIRFLOW__CORE__EXECUTOR"], {}) == "LocalExecutor"
        assert "@airflow-db:" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_project_folders_are_mounted_where_the_package_looks_for_them():
    services = compose()["services"]
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        volumes = dict(v.split(":", 1) for v in services[name]["volumes"])
        assert volumes["./dags"] == "/opt/airflow/dags"
        assert volumes["./plugins"] == "/opt/airflow/plugins"
        assert volumes["./include"] == services[name]["environment"]["SOPHOS_SYNC_INCLUDE_DIR"]
        assert "/opt/airflow/plugins" in services[name]["environment"]["PYTHONPATH"]
        for host_path in volumes:
            assert (ROOT / host_path).is_dir(), host_path


def test_connections_point_at_services_of_the_file_with_the_simulators_credentials():
    services = compose()["services"]
    env = services["airflow-scheduler"]["environment"]
    assert "@warehouse:5432/" in env["AIRFLOW_CONN_SOPHOS_DB"]
    # Support's review page runs in the api-server and reads the warehouse through the same connection.
    assert services["airflow-apiserver"]["environment"]["AIRFLOW_CONN_SOPHOS_DB"] == env["AIRFLOW_CONN_SOPHOS_DB"]
    serve = services["simulator"]["command"]
    seed = int(serve[serve.index("--seed") + 1])
    scale = serve[serve.index("--scale") + 1]
    port = serve[serve.index("--port") + 1]
    world = generator.build_world(scale, seed)
    conn_ids = env["SOPHOS_SYNC_CONN_IDS"].split(",")
    assert len(conn_ids) == len(world.partners)
    for conn_id, partner in zip(conn_ids, world.partners, strict=True):
        conn = json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
        assert conn["conn_type"] == "http"
        assert conn["host"] == f"http://simulator:{port}" == conn["extra"]["api_host_override"]
        assert conn["extra"]["token_url"] == f"http://simulator:{port}/api/v2/oauth2/token"
        assert (conn["login"], conn["password"]) == (partner.client_id, partner.client_secret)


def test_service_commands_are_ones_our_programs_accept():
    services = compose()["services"]
    serve = services["simulator"]["command"]
    assert serve[:3] == ["python", "-m", "simulator"]
    init = " ".join(services["airflow-init"]["command"][2:])
    seed_platform = shlex.split(init.split("&&")[-1])
    assert seed_platform[:3] == ["python", "-m", "simulator"]
    for argv in (serve[3:], seed_platform[3:]):
        build_parser().parse_args(argv)  # exits (fails the test) on any option the program does not accept


def test_the_sync_logs_in_as_a_non_superuser_owner_made_by_the_warehouse_init_script():
    services = compose()["services"]
    warehouse = services["warehouse"]
    superuser = warehouse["environment"]["POSTGRES_USER"]
    sync_login = services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_SOPHOS_DB"].split("//")[1].split(":${")[0]
    assert sync_login == "${SOPHOS_OWNER_USER:-sophos_owner}" == warehouse["environment"]["SOPHOS_OWNER_USER"]
    assert superuser != "sophos_owner"
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in warehouse["volumes"] if v.startswith("./"))
    assert mounts["./docker/warehouse-init.sh"].startswith("/docker-entrypoint-initdb.d/")
    script = (ROOT / "docker" / "warehouse-init.sh").read_text()
    assert "NOSUPERUSER" in script and "OWNER TO" in script
    # seed-platform writes as the same login, not as the superuser
    assert '--dsn "$$AIRFLOW_CONN_SOPHOS_DB"' in services["airflow-init"]["command"][2]


def test_values_to_change_for_production_are_named_and_come_from_the_environment():
    text = (ROOT / "docker-compose.yml").read_text()
    env = compose()["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET:-")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"].startswith("${AIRFLOW_SIMPLE_AUTH_ALL_ADMINS:-")
    assert "${AIRFLOW_DB_PASSWORD:-" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "${SOPHOS_OWNER_PASSWORD:-" in env["AIRFLOW_CONN_SOPHOS_DB"]
    header = text.split("x-airflow:")[0]
    for name in (
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_DB_PASSWORD",
        "WAREHOUSE_SUPERUSER_PASSWORD",
        "SOPHOS_OWNER_PASSWORD",
        "AIRFLOW_SIMPLE_AUTH_ALL_ADMINS",
        "AIRFLOW__CORE__AUTH_MANAGER",
    ):
        assert name in header, name
    readme = (ROOT / "README.md").read_text()
    for name in ("AIRFLOW_JWT_SECRET", "SOPHOS_OWNER_PASSWORD", "AIRFLOW_SIMPLE_AUTH_ALL_ADMINS"):
        assert name in readme, name


def test_celery_profile_adds_redis_and_two_workers_that_share_only_the_databases():
    services = compose()["services"]
    chosen = {"AIRFLOW_EXECUTOR": "CeleryExecutor"}
    assert services["redis"]["profiles"] == ["celery"]
    hostnames = set()
    for name in CELERY_WORKERS:
        worker = services[name]
        assert worker["profiles"] == ["celery"]
        assert worker["command"][:2] == ["celery", "worker"]
        celery_hostname = worker["command"][worker["command"].index("--celery-hostname") + 1]
        assert celery_hostname.startswith(worker["hostname"] + "@")
        hostnames.add(worker["hostname"])
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
        assert worker["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        # Code and SQL come from the image's mounts; nothing a task writes is shared through a volume.
        assert all(v.split(":")[0].startswith("./") for v in worker["volumes"])
    assert len(hostnames) == len(CELERY_WORKERS)
    for name in (*AIRFLOW_SERVICES, *CELERY_WORKERS):
        env = services[name]["environment"]
        assert interpolated(env["AIRFLOW__CORE__EXECUTOR"], chosen) == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert "@airflow-db:" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("apache-airflow-providers-celery==") for line in requirements)


def test_the_dag_can_write_its_run_notes_through_the_api_server_of_the_file():
    services = compose()["services"]
    api = services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_AIRFLOW_API"]
    assert api == "http://${AIRFLOW_NOTE_USER:-admin}:${AIRFLOW_NOTE_PASSWORD:-admin}@airflow-apiserver:8080"
    assert services["airflow-apiserver"]["command"] == "api-server"
    assert "AIRFLOW_NOTE_PASSWORD" in (ROOT / "docker-compose.yml").read_text().split("x-airflow:")[0]
