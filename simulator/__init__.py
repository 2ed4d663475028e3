"""The Sophos Partner API simulator: the demo's, the tests' and the benchmark's stand-in for Sophos Central.

One uvicorn server hosts the paths the sync calls, for several partner credentials, in the shapes of
Sophos's published examples (tests/conformance/fixtures): ``POST /api/v2/oauth2/token``,
``GET /whoami/v1``, ``GET /partner/v1/tenants``, ``GET /partner/v1/tenants/{id}``,
``GET /licenses/v1/licenses``, ``GET /partner/v1/billing/usage/{year}/{month}``.

    python -m simulator serve --host 127.0.0.1 --port 8080 --scale small --seed 1 [--today 2026-10-26]
    python -m simulator serve --port 8080 --scale small --unpriced-months 2026-09,2026-10
    python -m simulator serve --port 8080 --dataset recorded.json --error-rate 0.05 --fault-seed 7
    python -m simulator generate --scale small --seed 1 --months 2026-09,2026-10 --out small.json

Data comes from a dataset file, served verbatim, or is generated deterministically for a scale and seed
(``simulator.generator``). Generated billing lines read as Sophos's billing is read: netPrice is the total of
the line's order line (unitPrice x the billableQuantity of all its lines), a few order lines are split over
two customers, a few lines are credits (negative billableQuantity); ``--unpriced-months`` (serve and
generate) bills those months in the shape of Sophos's 2026-01-08 example, without any price field. Faults
(``simulator.faults``) are seeded and combinable.

Simulator-only endpoints, which the real API does not have and faults never touch:
``GET /_sim/health`` and ``GET|POST /_sim/today`` (body ``{"today": "YYYY-MM-DD"}``, or ``null`` for the
clock) to move the day that decides which billing reports exist.

Tests start a server with ``simulator.testing.run_simulator``; the demo seeds the Platform tables with
``simulator.platform_seed.load_platform_seed``.
"""
