"""Where the sync finds its database: the Airflow postgres connection, extras included, read through the
provider's PostgresHook; $SOPHOS_SYNC_DB_DSN overrides it.

The TLS tests run a PostgreSQL server of their own (`scripts/pg.sh start tls`) with ssl on and a certificate
signed by a certificate authority made here, so the connection's `sslmode`/`sslrootcert` extras have
something real to agree or disagree with.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pwd
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from airflow.sdk._shared.secrets_masker import redact
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sophos_sync.errors import ConfigurationError
from sophos_sync.warehouse import db

ROOT = Path(__file__).resolve().parents[3]
PG_INSTANCE = "tls"
CONN_ID = "sophos_tls_db"
SSL_QUERY = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _make_certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate it signed (for 127.0.0.1), and an unrelated CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, other_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("sophos-sync test CA", ca_key, "sophos-sync test CA", ca_key, ca=True)
    other_ca = _certificate("some other CA", other_key, "some other CA", other_key, ca=True)
    server = _certificate("127.0.0.1", server_key, "sophos-sync test CA", ca_key, ca=False)
    paths = {name: folder / f"{name}.pem" for name in ("ca", "other_ca", "server_cert", "server_key")}
    paths["ca"].write_bytes(_pem(ca))
    paths["other_ca"].write_bytes(_pem(other_ca))
    paths["server_cert"].write_bytes(_pem(server))
    paths["server_key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    # PostgreSQL reads its key only when the server's OS user owns it and nobody else may read it.
    paths["server_key"].chmod(0o600)
    if os.getuid() == 0:
        postgres = pwd.getpwnam("postgres")
        for path in (folder, *paths.values()):
            os.chown(path, postgres.pw_uid, postgres.pw_gid)
    return paths


@pytest.fixture(scope="module")
def tls_server() -> dict:
    """A PostgreSQL server with ssl on: its connection parameters and the certificate files."""
    pg = str(ROOT / "scripts" / "pg.sh")
    subprocess.run([pg, "stop", PG_INSTANCE], check=True)
    certificates = _make_certificates(ROOT / ".local" / "pg" / "tls-certificates")
    options = f"-c ssl=on -c ssl_cert_file={certificates['server_cert']} -c ssl_key_file={certificates['server_key']}"
    started = subprocess.run(
        [pg, "start", PG_INSTANCE],
        env={**os.environ, "PG_SERVER_OPTIONS": options},
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    try:
        yield {"params": psycopg.conninfo.conninfo_to_dict(started.stdout.strip()), **certificates}
    finally:
        subprocess.run([pg, "stop", PG_INSTANCE], check=True)


def _use_connection(monkeypatch, server: dict, extra: dict) -> None:
    """The sync's database is the Airflow connection CONN_ID (JSON form), the standard way."""
    params = server["params"]
    monkeypatch.delenv("SOPHOS_SYNC_DB_DSN", raising=False)
    monkeypatch.setenv("SOPHOS_SYNC_DB_CONN_ID", CONN_ID)
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": params["host"],
                "port": int(params["port"]),
                "login": params.get("user"),
                "password": params.get("password"),
                "schema": params.get("dbname"),
                "extra": extra,
            }
        ),
    )


@pytest.mark.parametrize(("sslmode", "over_tls"), [("require", True), ("disable", False)])
def test_sslmode_of_the_connection_decides_tls(monkeypatch, tls_server, sslmode, over_tls):
    _use_connection(monkeypatch, tls_server, {"sslmode": sslmode})
    with db.connect() as conn:
        assert conn.execute(SSL_QUERY).fetchone()[0] is over_tls


def test_extras_of_a_uri_connection_reach_psycopg(monkeypatch, tls_server):
    params = tls_server["params"]
    monkeypatch.delenv("SOPHOS_SYNC_DB_DSN", raising=False)
    monkeypatch.setenv("SOPHOS_SYNC_DB_CONN_ID", CONN_ID)
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        f"postgresql://{params.get('user', 'postgres')}:{quote(params.get('password', ''), safe='')}"
        f"@{params['host']}:{params['port']}/postgres"
        f"?sslmode=verify-full&sslrootcert={tls_server['ca']}&options=-c%20statement_timeout%3D12345",
    )
    with db.connect() as conn:
        assert conn.execute(SSL_QUERY).fetchone()[0] is True
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "12345ms"


def test_verify_full_accepts_the_servers_ca(monkeypatch, tls_server):
    _use_connection(monkeypatch, tls_server, {"sslmode": "verify-full", "sslrootcert": str(tls_server["ca"])})
    with db.connect() as conn:
        assert conn.execute(SSL_QUERY).fetchone()[0] is True


def test_verify_full_with_a_wrong_ca_refuses_the_server(monkeypatch, tls_server):
    _use_connection(monkeypatch, tls_server, {"sslmode": "verify-full", "sslrootcert": str(tls_server["other_ca"])})
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        db.connect()


def test_connection_password_is_masked_in_airflow_logs(monkeypatch):
    password = f"p@ss/{uuid.uuid4().hex}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SOPHOS_MASKED_DB",
        json.dumps({"conn_type": "postgres", "host": "db.example", "login": "sync", "password": password}),
    )
    dsn = db.dsn_from_airflow_connection("sophos_masked_db")
    assert psycopg.conninfo.conninfo_to_dict(dsn)["password"] == password
    assert password not in redact(f"could not connect with {password}")


def test_dsn_environment_variable_overrides_the_connection(monkeypatch):
    monkeypatch.setenv("SOPHOS_SYNC_DB_DSN", "host=override.example dbname=sync")
    monkeypatch.setenv("SOPHOS_SYNC_DB_CONN_ID", "sophos_db_nowhere")
    assert db.resolve_dsn() == "host=override.example dbname=sync"


def test_missing_connection_says_how_to_configure_it(monkeypatch):
    monkeypatch.delenv("SOPHOS_SYNC_DB_DSN", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SOPHOS_DB_NOWHERE", raising=False)
    monkeypatch.setenv("SOPHOS_SYNC_DB_CONN_ID", "sophos_db_nowhere")
    with pytest.raises(
        ConfigurationError, match=r"'sophos_db_nowhere' is not configured.*AIRFLOW_CONN_SOPHOS_DB_NOWHERE"
    ):
        db.connect()
