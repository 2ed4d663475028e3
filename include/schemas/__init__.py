"""The data contracts of what Sophos sends us, one Pandera model per entity.

    tenants.py        GET /partner/v1/tenants                      -> sophos.stage_tenants
    licenses.py       GET /licenses/v1/licenses (one call/tenant)  -> sophos.stage_licenses
    billing_usage.py  GET /partner/v1/billing/usage/{year}/{month} -> sophos.stage_billing_lines
    checks.py         the checks they are made of (UUIDs, dates, decimal strings, text, JSON types)
    contract.py       what each module declares as its CONTRACT

A contract judges one column per API field, in the field's JSON type (String, Integer, Boolean: the
annotations); nested fields are columns named by their path ("product.code"), their container being
implied. validate decodes the JSON into those columns and reports a value of another JSON type itself.
Each module also declares, once, in its CONTRACT (contract.Contract): which column fills which stage-table
column (stage), which fields form the natural key (natural_key) and the column that holds it (key_column),
the columns computed from the fields (derived), the fields whose JSON type change is drift rather than a
rejection (informational), and the fields known but never read (ignored: personal data, unused lists).
`sophos_sync.validation` loads this folder from $SOPHOS_SYNC_INCLUDE_DIR/schemas (it is not on sys.path),
decodes the landing records, runs the contract and routes every failure to sophos.rejected_records with the
check's name as the reason.
"""
