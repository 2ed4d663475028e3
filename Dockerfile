# The Airflow image of docker-compose.yml: Airflow 3.3.2 plus this project's pinned requirements.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt
# The sophos-sync distribution registers the `sophos` connection type with Airflow (its code is mounted or
# copied into dags/, plugins/, include/ as files).
COPY pyproject.toml /opt/sophos-sync-distribution/pyproject.toml
RUN pip install --no-cache-dir --no-deps /opt/sophos-sync-distribution
