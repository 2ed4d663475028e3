-- The data contracts of DESIGN.md section 4, plus the run-keyed landing and staging tables that carry
-- data between the DAG's tasks. Table and column names of sophos/review/platform are contracts.

CREATE SCHEMA IF NOT EXISTS sophos;
CREATE SCHEMA IF NOT EXISTS review;
CREATE SCHEMA IF NOT EXISTS finance;
CREATE SCHEMA IF NOT EXISTS platform;

-- Platform reference data: read-only input of the sync (production may replace these with views).
CREATE TABLE IF NOT EXISTS platform.sellers (
    seller_id          text PRIMARY KEY,
    name               text NOT NULL,
    sophos_partner_id  uuid UNIQUE
);

CREATE TABLE IF NOT EXISTS platform.customer_organizations (
    org_id     text PRIMARY KEY,
    seller_id  text NOT NULL,
    name       text NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_organizations_seller_idx ON platform.customer_organizations (seller_id);

-- One row per run of a billing month.
CREATE TABLE sophos.sync_runs (
    sync_run_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dag_run_id     text NOT NULL,
    billing_month  date NOT NULL CHECK (billing_month = date_trunc('month', billing_month)::date),
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    counts         jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (dag_run_id, billing_month)
);

-- Raw API objects exactly as extracted, one row per object, kept until the run succeeds.
CREATE TABLE sophos.landing_records (
    sync_run_id  bigint NOT NULL REFERENCES sophos.sync_runs ON DELETE CASCADE,
    account      text NOT NULL,                -- the Airflow connection id the object came through
    entity       text NOT NULL CHECK (entity IN ('tenant', 'license', 'billing_usage')),
    seq          bigint NOT NULL,              -- order of arrival within (run, account, entity)
    tenant_id    text,                         -- licences: the tenant the call was made for
    raw          jsonb NOT NULL
);
CREATE INDEX landing_records_run_idx ON sophos.landing_records (sync_run_id, entity, account);

-- What each extract saw as a whole: the API's own count (billing: pages.items) and skipped tenants.
CREATE TABLE sophos.landing_batches (
    sync_run_id     bigint NOT NULL REFERENCES sophos.sync_runs ON DELETE CASCADE,
    account         text NOT NULL,
    entity          text NOT NULL CHECK (entity IN ('tenant', 'license', 'billing_usage')),
    partner_id      text,                      -- whoami id of the credential
    record_count    bigint NOT NULL,
    reported_count  bigint,
    skipped         jsonb NOT NULL DEFAULT '[]'::jsonb,
    extracted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sync_run_id, account, entity)
);

-- Validated, typed rows of a run (written by validate, read by map and load).
CREATE TABLE sophos.stage_tenants (
    sync_run_id         bigint NOT NULL REFERENCES sophos.sync_runs ON DELETE CASCADE,
    account             text NOT NULL,
    sophos_customer_id  uuid NOT NULL,
    name                text,
    show_as             text,
    partner_id          uuid,
    organization_id     uuid,
    billing_type        text,
    data_region         text,
    data_geography      text,
    api_host            text,
    PRIMARY KEY (sync_run_id, sophos_customer_id)
);

CREATE TABLE sophos.stage_licenses (
    sync_run_id           bigint NOT NULL REFERENCES sophos.sync_runs ON DELETE CASCADE,
    account               text NOT NULL,
    subscription_id       uuid NOT NULL,
    license_identifier    text,
    sophos_customer_id    uuid NOT NULL,
    product_code          text,
    product_name          text,
    product_generic_code  text,
    type                  text,
    quantity              bigint,
    unlimited             boolean,
    perpetual             boolean,
    usage_count           bigint,
    start_date            date,
    end_date              date,
    PRIMARY KEY (sync_run_id, subscription_id)
);

CREATE TABLE sophos.stage_billing_lines (
    sync_run_id                      bigint NOT NULL REFERENCES sophos.sync_runs ON DELETE CASCADE,
    account                          text NOT NULL,
    line_key                         text NOT NULL,
    sophos_customer_id               uuid,
    partner_account_id               text,
    partner_account_name             text,
    order_number                     text,
    order_line_item_number           text,
    account_number_or_serial_number  text,
    sku                              text,
    product_code                     text,
    product_description              text,
    product_group                    text,
    billable_quantity                bigint,
    actual_quantity                  bigint,
    ordered_quantity                 bigint,
    unit_price                       numeric(18, 4),
    net_price                        numeric(18, 4),
    unit_msrp                        numeric(18, 4),
    price_with_taxes                 numeric(18, 4),
    additional_discount_percentage   numeric(9, 4),
    currency                         char(3),
    account_status                   text,
    external_id                      text,
    distributor_account_name         text,
    billing_start_date               date,
    billing_end_date                 date,
    PRIMARY KEY (sync_run_id, line_key)
);

CREATE TABLE sophos.stage_customer_decisions (
    sync_run_id         bigint NOT NULL REFERENCES sophos.sync_runs ON DELETE CASCADE,
    sophos_customer_id  uuid NOT NULL,
    partner_id          uuid,
    seller_id           text,
    outcome             text NOT NULL CHECK (outcome IN ('mapped', 'auto_matched', 'unmapped')),
    platform_org_id     text,
    reason              text CHECK (reason IN ('no_match', 'ambiguous', 'unknown_seller')),
    candidates          jsonb NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (sync_run_id, sophos_customer_id),
    CHECK ((outcome = 'unmapped') = (reason IS NOT NULL)),
    CHECK ((outcome = 'unmapped') = (platform_org_id IS NULL))
);

-- The mirror.
CREATE TABLE sophos.customers (
    sophos_customer_id  uuid PRIMARY KEY,
    name                text,
    show_as             text,
    partner_id          uuid,
    billing_type        text,
    data_region         text,
    data_geography      text,
    platform_org_id     text,
    first_seen_at       timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    removed_at          timestamptz
);

CREATE TABLE sophos.customer_mappings (
    sophos_customer_id  uuid PRIMARY KEY,
    platform_org_id     text NOT NULL,
    method              text NOT NULL CHECK (method IN ('auto', 'manual')),
    mapped_at           timestamptz NOT NULL DEFAULT now(),
    mapped_by           text NOT NULL
);

CREATE TABLE sophos.subscriptions (
    subscription_id     uuid PRIMARY KEY,
    license_identifier  text,
    sophos_customer_id  uuid NOT NULL,
    platform_org_id     text NOT NULL,
    product_code        text,
    product_name        text,
    type                text,
    quantity            bigint,
    usage_count         bigint,
    start_date          date,
    end_date            date,
    status              text NOT NULL CHECK (status IN ('active', 'suspended', 'cancelled')),
    first_seen_at       timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL
);
CREATE INDEX subscriptions_customer_idx ON sophos.subscriptions (sophos_customer_id);

CREATE TABLE sophos.subscription_status_history (
    subscription_id  uuid NOT NULL,
    status           text NOT NULL CHECK (status IN ('active', 'suspended', 'cancelled')),
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    PRIMARY KEY (subscription_id, valid_from)
);
CREATE UNIQUE INDEX subscription_status_history_open_idx
    ON sophos.subscription_status_history (subscription_id) WHERE valid_to IS NULL;

-- Every billing usage line of a month, mapped or not. Amount of a line = net_price * billable_quantity.
CREATE TABLE sophos.invoice_lines (
    billing_month                    date NOT NULL,
    line_key                         text NOT NULL,
    sophos_customer_id               uuid,
    platform_org_id                  text,
    partner_id                       uuid,
    account                          text NOT NULL,
    partner_account_id               text,
    partner_account_name             text,
    order_number                     text,
    order_line_item_number           text,
    account_number_or_serial_number  text,
    sku                              text,
    product_code                     text,
    product_description              text,
    product_group                    text,
    billable_quantity                bigint,
    actual_quantity                  bigint,
    ordered_quantity                 bigint,
    unit_price                       numeric(18, 4),
    net_price                        numeric(18, 4),
    unit_msrp                        numeric(18, 4),
    price_with_taxes                 numeric(18, 4),
    additional_discount_percentage   numeric(9, 4),
    line_amount                      numeric(20, 4) GENERATED ALWAYS AS (net_price * billable_quantity) STORED,
    currency                         char(3),
    account_status                   text,
    external_id                      text,
    distributor_account_name         text,
    billing_start_date               date,
    billing_end_date                 date,
    sync_run_id                      bigint NOT NULL,
    PRIMARY KEY (billing_month, line_key)
);
CREATE INDEX invoice_lines_customer_idx ON sophos.invoice_lines (sophos_customer_id);

CREATE TABLE sophos.rejected_records (
    rejected_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sync_run_id   bigint NOT NULL,
    entity        text NOT NULL,
    source_key    text,
    check_name    text NOT NULL,
    column_name   text,
    failure_case  text,
    raw           jsonb,
    rejected_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_records_run_idx ON sophos.rejected_records (sync_run_id, entity);

-- The month whose current state (customers, subscriptions) the mirror holds: a backfill of an older
-- month reloads its invoice lines but never rolls the mirror back.
CREATE TABLE sophos.mirror_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    as_of_month    date NOT NULL,
    sync_run_id    bigint NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Support's work list.
CREATE TABLE review.unmapped_customers (
    sophos_customer_id  uuid PRIMARY KEY,
    customer_name       text,
    partner_id          uuid,
    seller_id           text,
    reason              text NOT NULL CHECK (reason IN ('no_match', 'ambiguous', 'unknown_seller')),
    candidates          jsonb NOT NULL DEFAULT '[]'::jsonb,
    subscription_count  integer NOT NULL DEFAULT 0,
    month_amount        numeric(20, 4),
    currency            char(3),
    first_seen_at       timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved_org_id     text,
    resolved_by         text,
    resolved_at         timestamptz
);
CREATE INDEX unmapped_customers_open_idx ON review.unmapped_customers (month_amount DESC) WHERE status = 'open';
