-- Money as Sophos means it (README, "How amounts are computed"):
--  * A line's amount is unit_price x billable_quantity. It was net_price x billable_quantity, which read
--    netPrice as a unit price; the only public code that prices this report (a 2026 billing tool by a Sophos
--    developer, GitHub Aaronjacobs000/sophos-central-mcp, src/tools/partner.ts) computes
--    "billableQuantity * unitPrice" and calls netPrice "the total order line value shared across all customers
--    on that line", and distributor marketplaces price Sophos's monthly file from Unit Price. Months loaded
--    before this migration are recomputed by it: their totals change wherever netPrice was not unitPrice.
--  * Prices are optional (Sophos's 2026-01-08 example has none): an unpriced line has no amount (null, never
--    0) and says why; a distributor's price list (platform.sophos_prices) may value it, and price_source says
--    where a line's unit_price came from.
--  * netPrice is kept as sent and checked per order line (finance.order_line_checks).

-- The views over invoice_lines are created again from include/sql/views/ after the numbered migrations.
DROP VIEW finance.monthly_totals;
DROP VIEW finance.invoice_lines;

ALTER TABLE sophos.invoice_lines DROP COLUMN line_amount;
ALTER TABLE sophos.invoice_lines
    ADD COLUMN price_source text CHECK (price_source IN ('sophos', 'price_list'));
UPDATE sophos.invoice_lines SET price_source = 'sophos' WHERE unit_price IS NOT NULL;
ALTER TABLE sophos.invoice_lines
    ADD COLUMN line_amount numeric(20, 4) GENERATED ALWAYS AS (unit_price * billable_quantity) STORED,
    ADD COLUMN amount_missing_reason text GENERATED ALWAYS AS (
        CASE WHEN unit_price IS NOT NULL THEN NULL
             WHEN net_price IS NOT NULL THEN 'no_unit_price'
             ELSE 'no_price' END) STORED,
    ADD CONSTRAINT invoice_lines_price_source_check_priced CHECK ((price_source IS NULL) = (unit_price IS NULL));

COMMENT ON COLUMN sophos.invoice_lines.line_amount IS
    'unit_price * billable_quantity (negative on a credit line); null when the line has no unit price. '
    'Source: Sophos''s own billing tooling prices a line as billableQuantity * unitPrice and reads netPrice as '
    'the order line''s total (migration 0009).';
COMMENT ON COLUMN sophos.invoice_lines.amount_missing_reason IS
    'why line_amount is null: no_unit_price (Sophos sent a netPrice but no unitPrice, and no price list entry '
    'valued the line), no_price (Sophos sent no price, and no price list entry valued the line)';
COMMENT ON COLUMN sophos.invoice_lines.price_source IS
    'where unit_price comes from: sophos (the billing report), price_list (platform.sophos_prices, for a line '
    'Sophos sent without a unitPrice); null when the line has none';

-- The distributor's price list: the unit price of a SKU in a currency from a day on (valid_to: the last day,
-- inclusive; null: open-ended). Imported by `python -m sophos_sync prices import FILE.csv`; it values lines
-- Sophos sent without a unit price, and audits the lines it priced (finance.price_deviations).
CREATE EXTENSION IF NOT EXISTS btree_gist;  -- the exclusion constraint compares text with =
CREATE TABLE platform.sophos_prices (
    sku          text NOT NULL CHECK (sku <> ''),
    currency     char(3) NOT NULL,
    unit_price   numeric(18, 4) NOT NULL CHECK (unit_price >= 0),
    valid_from   date NOT NULL,
    valid_to     date CHECK (valid_to >= valid_from),
    imported_at  timestamptz NOT NULL DEFAULT now(),
    imported_by  text NOT NULL DEFAULT session_user,
    PRIMARY KEY (sku, currency, valid_from),
    CONSTRAINT sophos_prices_no_overlap
        EXCLUDE USING gist (sku WITH =, currency WITH =, daterange(valid_from, valid_to, '[]') WITH &&)
);
COMMENT ON TABLE platform.sophos_prices IS
    'The distributor''s unit prices of Sophos SKUs, one validity period at a time per SKU and currency.';
