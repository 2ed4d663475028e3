"""Airflow's side of the sync: the DAG's tasks (`tasks`), their defaults and retry policy (`defaults`), what a
failure does (`notify`) and the run's note in the UI (`run_note`). Everything below it runs without Airflow."""
