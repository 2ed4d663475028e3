"""A month's run: the stage bodies the DAG's tasks call (`stages`), the same month in-process (`runner`),
which month a run syncs (`months`), its row in sophos.sync_runs (`sync_run`) and its summary (`report`)."""
