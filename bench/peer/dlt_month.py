"""The bench's peer baseline: what a data engineer would write with dlt instead of sophos-sync.

One month of billing usage per Sophos credential through dlt's `rest_api` source (OAuth2 client credentials,
cursor paginator on pages.nextKey -> pageFromKey, merge on the natural key) into a PostgreSQL schema of its
own. Runs in the peer's own venv (bench/peer/requirements.txt), started by devtools.bench, which times it
and compares what it loaded with sophos-sync's invoice lines line by line.

    python bench/peer/dlt_month.py --base-url URL --dsn DSN --month YYYY-MM --credentials FILE [--page-size N]

FILE: JSON list of [client_id, client_secret]. Prints one JSON line: {"lines": ..., "seconds": ..., "peak_rss_mb": ...}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from dlt.sources.rest_api import rest_api_source

DATASET = "dlt_peer"
TABLE = "billing_usage"
# The invoice line's natural key (as sophos-sync's billing contract names it), in dlt's column names.
NATURAL_KEY = (
    "partner_account_id",
    "order_number",
    "order_line_item_number",
    "account_number_or_serial_number",
    "sku",
    "billing_start_date",
    "billing_end_date",
)


def month_source(base_url: str, client_id: str, client_secret: str, year: int, month: int, page_size: int):
    auth = OAuth2ClientCredentials(
        access_token_url=f"{base_url}/api/v2/oauth2/token",
        client_id=client_id,
        client_secret=client_secret,
        access_token_request_data={"scope": "token"},
    )
    partner_id = RESTClient(base_url=base_url, auth=auth).get("/whoami/v1").json()["id"]
    return rest_api_source(
        {
            "client": {"base_url": base_url, "auth": auth, "headers": {"X-Partner-ID": partner_id}},
            "resources": [
                {
                    "name": TABLE,
                    "primary_key": list(NATURAL_KEY),
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": f"partner/v1/billing/usage/{year}/{month}",
                        "params": {"pageSize": page_size},
                        "data_selector": "items",
                        "paginator": {"type": "cursor", "cursor_path": "pages.nextKey", "cursor_param": "pageFromKey"},
                    },
                }
            ],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--credentials", required=True)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    year, month = (int(part) for part in args.month.split("-"))
    with open(args.credentials, encoding="utf-8") as file:
        credentials = json.load(file)
    pipeline = dlt.pipeline(
        pipeline_name="sophos_billing_peer",
        destination=dlt.destinations.postgres(credentials=args.dsn),
        dataset_name=DATASET,
        pipelines_dir=tempfile.mkdtemp(prefix="dlt-peer-"),  # no state from earlier runs
    )
    started = time.perf_counter()
    for client_id, client_secret in credentials:
        pipeline.run(month_source(args.base_url, client_id, client_secret, year, month, args.page_size))
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as client:
        lines = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(TABLE)}")[0][0]
    print(json.dumps({"lines": lines, "seconds": round(seconds, 3), "peak_rss_mb": round(peak_rss_mb(), 1)}))


def peak_rss_mb() -> float:
    """This process's own high-water mark (a parent's figure for its children would count the parent's
    memory at fork time)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM is not in /proc/self/status")


if __name__ == "__main__":
    main()
