"""Support's review of unmapped customers: the workflow in PostgreSQL (`workflow`), and the page in the Airflow
UI (`page`, its files in `ui/`; plugins/sophos_review_plugin.py mounts it)."""
