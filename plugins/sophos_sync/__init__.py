"""sophos-sync: the monthly Sophos → Platform sync (importable logic; the DAG only wires it)."""
