"""The production-scale benchmark: one whole month through the same stage functions the DAG's tasks call,
measured per stage (wall time, rows/s, peak RSS), against baselines, limits and a dlt peer on the same rows
in the same run.

    python -m devtools.bench [--scale small|medium|large] [--latency-ms 20] [--seed N] [--out bench/results.json]

It starts the simulator at the scale (simulator.testing.run_simulator) and a throwaway PostgreSQL server
(scripts/pg.sh start bench, stopped at the end unless it was already running), creates a database of its
own there, seeds the Platform's reference data, and gives the stages their Airflow connections as
AIRFLOW_CONN_* environment variables of this process, as a worker would have them. The stages run in
the DAG's order in this process; each extract stage runs its accounts side by side (threads), as the
DAG's mapped extract tasks do (processes, so their memory here is one process's sum of theirs).

run          Options and the run itself; __main__ is its command line
month        the month through the stages, each timed with its rows and peak RSS
baselines    raw COPY, to_sql and sequential licence fetching on the same rows
limits       the floor of each stage's work, measured in the same run, and each stage against its floor
peer         dlt's rest_api loading the same month, checked line by line
targets      what the benchmark aims for
output       results.json and the Markdown tables of bench/README.md
measurement  peak RSS, memory handed back, /proc figures, one function's time within a stage
process      this process set up as a worker's: environment variables, log levels
postgres     the throwaway database, psql COPY timed, empty clones of tables
bench/*.py, the benchmarks that isolate one part, use these modules too.
"""
