"""What Airflow's providers manager learns of sophos-sync: the `sophos` connection type and its hook, so the
connection form names its fields and the form's *Test* button runs SophosHook.test_connection.

Read through the `apache_airflow_provider` entry point of the sophos-sync distribution (pyproject.toml); the
code itself is deployed as files (plugins/), the distribution only carries this registration.
"""

from __future__ import annotations

from sophos_sync.sophos.endpoints import DEFAULT_GLOBAL_URL


def get_provider_info() -> dict:
    return {
        "package-name": "sophos-sync",
        "name": "Sophos Central (sophos-sync)",
        "description": "The Sophos Central Partner API connection of the monthly Sophos sync.",
        "connection-types": [
            {
                "connection-type": "sophos",
                "hook-class-name": "sophos_sync.sophos.hook.SophosHook",
                "hook-name": "Sophos Central Partner API",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"login": "Client ID", "password": "Client secret", "host": "API base URL"},
                    "placeholders": {
                        "host": DEFAULT_GLOBAL_URL,
                        "extra": '{"currency": "EUR"}  (also: token_url, api_host_override)',
                    },
                },
            },
        ],
    }
