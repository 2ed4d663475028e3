"""A hostile record cannot make validation's memory grow with its chunk: one billing line carrying 20,000
keys the contract does not know, among 10,000 lines, is drift (named up to a bound, the rest counted), and
decoding it costs no more memory than a clean chunk. Before, each of its keys became a column as long as the
chunk, and validating that chunk took gigabytes.

Each batch is validated in a fresh interpreter, which reports its own peak resident memory, so that the two
peaks compare like with like: same imports, same input but for the one record.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sophos_sync.validation.decode import UNKNOWN_NAMES_KEPT

ROOT = Path(__file__).resolve().parents[2]
LINES = 10_000
EXTRA_KEYS = 20_000
# The clean peak may vary by a few MB between two runs of the same input (allocator arenas, the hostile
# line's own text and dict while it is built): 10 % of the clean peak, or 15 MB where that is more.
SLACK_SHARE, SLACK_MB = 0.10, 15

VALIDATE_A_CHUNK = """
import json, resource, sys
sys.path[:0] = [sys.argv[1] + "/plugins", sys.argv[1]]
from sophos_sync.validation.judge import validate
from tests.records import billing_line, rows

items = [billing_line(orderNumber=f"SO{n:06d}") for n in range(int(sys.argv[2]))]
if int(sys.argv[3]):
    items[len(items) // 2].update({f"hostile{n:05d}": "x" for n in range(int(sys.argv[3]))})
texts = rows(*items)
del items
result = validate("billing_usage", texts)
print(json.dumps({
    "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "received": result.received,
    "valid": result.valid_rows,
    "counts": result.counts(),
}))
"""


def validated_in_a_child(extra_keys: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", VALIDATE_A_CHUNK, str(ROOT), str(LINES), str(extra_keys)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_record_of_twenty_thousand_new_keys_is_drift_and_costs_no_memory_per_key():
    clean = validated_in_a_child(0)
    hostile = validated_in_a_child(EXTRA_KEYS)

    clean_mb, hostile_mb = clean["peak_kb"] / 1024, hostile["peak_kb"] / 1024
    slack_mb = max(clean_mb * SLACK_SHARE, SLACK_MB)
    assert hostile_mb <= clean_mb + slack_mb, (
        f"peak {hostile_mb:.0f} MB with the hostile record, {clean_mb:.0f} MB without (slack {slack_mb:.0f} MB)"
    )

    assert clean["counts"]["unknown_fields"] == [] and "unknown_fields_more" not in clean["counts"]
    # The hostile line is drift, not a rejection: every line is staged, its new keys named up to the
    # bound and the rest counted.
    assert hostile["received"] == hostile["valid"] == LINES
    named = hostile["counts"]["unknown_fields"]
    assert named == [f"hostile{n:05d}" for n in range(UNKNOWN_NAMES_KEPT)]
    assert len(named) + hostile["counts"]["unknown_fields_more"] == EXTRA_KEYS
