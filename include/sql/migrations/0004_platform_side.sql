-- Seed details the Platform relies on: Platform-side hiding of subscriptions (the seller guide's
-- "cancelling in the Platform only affects visibility") and the distributor contract's currency.

-- Platform-owned state on the mirror: the monthly sync writes named columns only and never these.
ALTER TABLE sophos.subscriptions
    ADD COLUMN hidden_at timestamptz,
    ADD COLUMN hidden_by text,
    ADD COLUMN hidden_reason text;

CREATE TABLE platform.subscription_visibility_changes (
    change_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id  uuid NOT NULL,
    action           text NOT NULL CHECK (action IN ('hidden', 'unhidden')),
    changed_by       text NOT NULL,
    reason           text,
    changed_at       timestamptz NOT NULL DEFAULT now()
);

-- Only a Distributor Admin may hide a subscription (seller guide, "Cancellation Rules").
DO $$
BEGIN
    CREATE ROLE distributor_admin NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

CREATE FUNCTION platform.set_subscription_hidden(
    p_subscription_id uuid, p_hidden boolean, p_changed_by text, p_reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    was_hidden boolean;
BEGIN
    IF coalesce(btrim(p_changed_by), '') = '' THEN
        RAISE EXCEPTION 'say who changes the subscription''s visibility (--by NAME); nothing was changed'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_hidden AND coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION 'give the reason for hiding subscription % (--reason TEXT); nothing was changed',
            p_subscription_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT hidden_at IS NOT NULL INTO was_hidden
    FROM sophos.subscriptions WHERE subscription_id = p_subscription_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown subscription %: it is not in sophos.subscriptions (only subscriptions of mapped '
            'customers are imported); nothing was changed', p_subscription_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF was_hidden = p_hidden THEN
        RAISE EXCEPTION 'subscription % is already %; nothing was changed',
            p_subscription_id, CASE WHEN p_hidden THEN 'hidden' ELSE 'visible' END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE sophos.subscriptions
    SET hidden_at = CASE WHEN p_hidden THEN now() END,
        hidden_by = CASE WHEN p_hidden THEN p_changed_by END,
        hidden_reason = CASE WHEN p_hidden THEN p_reason END
    WHERE subscription_id = p_subscription_id;
    INSERT INTO platform.subscription_visibility_changes (subscription_id, action, changed_by, reason)
    VALUES (p_subscription_id, CASE WHEN p_hidden THEN 'hidden' ELSE 'unhidden' END, p_changed_by, p_reason);
END
$$;

REVOKE ALL ON FUNCTION platform.set_subscription_hidden(uuid, boolean, text, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA platform TO distributor_admin;
GRANT EXECUTE ON FUNCTION platform.set_subscription_hidden(uuid, boolean, text, text) TO distributor_admin;

-- What a seller sees: its customers' subscriptions, hidden ones left out. Sophos's own status stays as
-- Sophos reports it (a hidden subscription that Sophos later cancels is both hidden and cancelled).
CREATE VIEW platform.seller_subscriptions AS
SELECT o.seller_id,
       s.platform_org_id,
       o.name AS organization_name,
       s.subscription_id,
       s.license_identifier,
       s.product_code,
       s.product_name,
       s.type,
       s.quantity,
       s.usage_count,
       s.start_date,
       s.end_date,
       s.status,
       s.last_seen_at
FROM sophos.subscriptions s
JOIN platform.customer_organizations o ON o.org_id = s.platform_org_id
WHERE s.hidden_at IS NULL;

COMMENT ON VIEW platform.seller_subscriptions IS
    'Sophos subscriptions as sellers see them: those hidden by a Distributor Admin are left out.';

-- The distributor contract's currency (connection extra "currency"), recorded with each billing extract;
-- lines in another currency are loaded as billed and flagged.
ALTER TABLE sophos.landing_batches ADD COLUMN contract_currency char(3);
ALTER TABLE sophos.invoice_lines
    ADD COLUMN contract_currency char(3),
    ADD COLUMN currency_mismatch boolean
        GENERATED ALWAYS AS (contract_currency IS NOT NULL AND currency IS DISTINCT FROM contract_currency) STORED;

CREATE OR REPLACE VIEW finance.invoice_lines AS
SELECT l.billing_month,
       l.line_key,
       l.sophos_customer_id,
       c.name AS customer_name,
       l.partner_id,
       s.seller_id,
       s.name AS seller_name,
       l.platform_org_id,
       o.name AS organization_name,
       l.partner_account_id,
       l.partner_account_name,
       l.order_number,
       l.order_line_item_number,
       l.account_number_or_serial_number,
       l.sku,
       l.product_code,
       l.product_description,
       l.product_group,
       l.billable_quantity,
       l.actual_quantity,
       l.ordered_quantity,
       l.unit_price,
       l.net_price,
       l.line_amount,
       l.currency,
       l.account_status,
       l.billing_start_date,
       l.billing_end_date,
       l.sync_run_id,
       l.contract_currency,
       l.currency_mismatch
FROM sophos.invoice_lines l
LEFT JOIN sophos.customers c ON c.sophos_customer_id = l.sophos_customer_id
LEFT JOIN platform.sellers s ON s.sophos_partner_id = l.partner_id
LEFT JOIN platform.customer_organizations o ON o.org_id = l.platform_org_id;

COMMENT ON COLUMN finance.invoice_lines.currency_mismatch IS
    'true when the line is billed in another currency than the distributor contract''s (connection extra "currency").';
