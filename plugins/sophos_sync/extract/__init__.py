"""Extract: the Sophos API into the landing tables, one module per entity (its `extract(conn, client, job)`),
the landing tables themselves in `landing` (sophos_sync.entities names which module lands which entity)."""
