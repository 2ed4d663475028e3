"""The data contracts of what Sophos sends us, one Pandera model per entity.

    tenants.py        GET /partner/v1/tenants                      -> sophos.stage_tenants
    licenses.py       GET /licenses/v1/licenses (one call/tenant)  -> sophos.stage_licenses
    billing_usage.py  GET /partner/v1/billing/usage/{year}/{month} -> sophos.stage_billing_lines
    checks.py         the checks they are made of (UUIDs, dates, decimal strings, text, JSON types)

A contract judges one column per API field, in the field's JSON type (String, Integer, Boolean: the
annotations); nested fields are columns named by their path ("product.code"), their container being
implied. validate decodes the JSON into those columns and reports a value of another JSON type itself.
Each module also declares, once: which column fills which stage-table column (STAGE), which fields form
the natural key (NATURAL_KEY) and the column that holds it (KEY_COLUMN), the columns computed from the
fields (DERIVED), the fields whose JSON type change is drift rather than a rejection (INFORMATIONAL),
and the fields known but never read (IGNORED: personal data, unused lists). `sophos_sync.validate` loads this folder from settings.SCHEMAS_DIR (it is not
on sys.path), decodes the landing records, runs the contract and routes every failure to
sophos.rejected_records with the check's name as the reason.
"""
