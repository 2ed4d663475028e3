-- Least privilege that holds against an insider: Support and the Distributor Admin change state only
-- through the SECURITY DEFINER functions, every name they record is checked and kept beside the database
-- login that gave it, and a mapping is re-checked against the customer's current seller on every sync.

-- The group roles of migrations 0003 and 0004 adopt a role that already exists in the cluster. One that
-- can log in or holds cluster-wide powers would receive their grants too: refuse it, before anything else.
DO $$
DECLARE
    r      record;
    extras text[];
BEGIN
    FOR r IN
        SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls
          FROM pg_catalog.pg_roles
         WHERE rolname IN ('finance_reader', 'support_agent', 'distributor_admin')
         ORDER BY rolname
    LOOP
        extras := array_remove(ARRAY[
            CASE WHEN r.rolcanlogin THEN 'LOGIN' END,
            CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
            CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
            CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
            CASE WHEN r.rolreplication THEN 'REPLICATION' END,
            CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END], NULL);
        IF cardinality(extras) > 0 THEN
            RAISE EXCEPTION 'role % already exists with %, but sophos-sync grants its rights to % as a group role '
                            '(NOLOGIN, no cluster-wide powers)', r.rolname, array_to_string(extras, ', '), r.rolname
                USING HINT = format('A database administrator must run ALTER ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB '
                                    'NOCREATEROLE NOREPLICATION NOBYPASSRLS (people log in as their own users, '
                                    'granted the role), then migrate again; no migration was applied.', r.rolname);
        END IF;
    END LOOP;
END
$$;

-- Support's only door into review state is review.resolve_customer: a direct UPDATE could forge a
-- resolution or, worse, change the partner a resolve trusted.
REVOKE UPDATE ON review.unmapped_customers FROM support_agent;

-- The database login that made each change, beside the name it gave. Earlier rows stay NULL: unknown.
ALTER TABLE review.mapping_changes ADD COLUMN changed_by_login text;
ALTER TABLE review.mapping_changes ALTER COLUMN changed_by_login SET DEFAULT session_user;
ALTER TABLE platform.subscription_visibility_changes ADD COLUMN changed_by_login text;
ALTER TABLE platform.subscription_visibility_changes ALTER COLUMN changed_by_login SET DEFAULT session_user;

-- A mapping whose organization belongs to another seller than the customer's current one is taken out of
-- use by the sync and the customer listed for Support again.
ALTER TABLE sophos.stage_customer_decisions DROP CONSTRAINT stage_customer_decisions_reason_check;
ALTER TABLE sophos.stage_customer_decisions ADD CONSTRAINT stage_customer_decisions_reason_check
    CHECK (reason IN ('no_match', 'ambiguous', 'unknown_seller', 'seller_changed'));
ALTER TABLE review.unmapped_customers DROP CONSTRAINT unmapped_customers_reason_check;
ALTER TABLE review.unmapped_customers ADD CONSTRAINT unmapped_customers_reason_check
    CHECK (reason IN ('no_match', 'ambiguous', 'unknown_seller', 'seller_changed'));
ALTER TABLE review.mapping_changes DROP CONSTRAINT mapping_changes_event_check;
ALTER TABLE review.mapping_changes ADD CONSTRAINT mapping_changes_event_check
    CHECK (event IN ('resolved', 'remapped', 'auto_resolved', 'reopened', 'seller_changed'));

-- Names and reasons people give are shown in terminals and on web pages: printable text of bounded length.
-- The value itself is never quoted back, so an escape sequence cannot reach the caller's terminal.
CREATE FUNCTION sophos.checked_text(p_value text, p_what text, p_max_chars integer)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_text text := btrim(p_value);
BEGIN
    -- Cc (C0, DEL, C1), Cf (soft hyphen, zero-width and direction controls, BOM, tags...) and the line and
    -- paragraph separators.
    IF v_text IS NULL OR v_text = '' OR char_length(v_text) > p_max_chars
       OR v_text ~ '[\u0001-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]'
    THEN
        RAISE EXCEPTION '% must be 1 to % printable characters, without control or format characters (tabs, '
                        'line breaks, terminal escapes, invisible or direction-changing characters such as '
                        'U+200B or U+202E); nothing was changed', p_what, p_max_chars
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_text;
END
$$;

REVOKE ALL ON FUNCTION sophos.checked_text(text, text, integer) FROM PUBLIC;

-- The return type changes (the organization, which Support cannot read otherwise), so drop and recreate.
DROP FUNCTION review.resolve_customer(uuid, text, text, boolean);

-- SECURITY DEFINER so the support_agent role can map a customer without any right on sophos.*; the
-- fixed search_path and schema-qualified names keep a caller's objects from being used instead of ours.
CREATE FUNCTION review.resolve_customer(
    sophos_customer_id uuid,
    platform_org_id text,
    resolved_by text,
    force boolean DEFAULT false
) RETURNS TABLE (org_id text, seller_id text, name text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_customer   uuid := resolve_customer.sophos_customer_id;
    v_org        text := resolve_customer.platform_org_id;
    v_by         text;
    v_partner    uuid;
    v_name       text;
    v_seller     text;
    v_org_seller text;
    v_org_name   text;
    v_current    sophos.customer_mappings%ROWTYPE;
    v_is_mapped  boolean;
BEGIN
    IF v_customer IS NULL OR v_org IS NULL THEN
        RAISE EXCEPTION 'a Sophos customer id and an organization id are required'
            USING HINT = 'Run: python -m sophos_sync review resolve SOPHOS_CUSTOMER_ID ORG_ID --by NAME; '
                         'nothing was changed.';
    END IF;
    IF coalesce(btrim(resolve_customer.resolved_by), '') = '' THEN
        RAISE EXCEPTION 'who resolves customer % must be given', v_customer
            USING HINT = 'Pass your name, e.g. --by jane.doe (it is recorded with the mapping); nothing was changed.';
    END IF;
    v_by := sophos.checked_text(resolve_customer.resolved_by, 'the name of who resolves (--by)', 200);

    -- Two people resolving the same customer at once: the second waits and then sees the first's mapping.
    PERFORM pg_advisory_xact_lock(hashtext('review.resolve_customer'), hashtext(v_customer::text));

    -- The customer's partner only from what the sync wrote (the mirror, or the stage rows of a run not
    -- loaded yet), the newest first; never from review.unmapped_customers, which people can reach.
    SELECT seen.partner_id, seen.name INTO v_partner, v_name
      FROM (SELECT c.partner_id, c.name, c.last_seen_at AS seen_at
              FROM sophos.customers c
             WHERE c.sophos_customer_id = v_customer
            UNION ALL
            SELECT t.partner_id, t.name, r.started_at
              FROM sophos.stage_tenants t
              JOIN sophos.sync_runs r ON r.sync_run_id = t.sync_run_id
             WHERE t.sophos_customer_id = v_customer) seen
     ORDER BY seen.seen_at DESC
     LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown Sophos customer id %: no sync has seen it', v_customer
            USING HINT = 'Copy the id from "python -m sophos_sync review list"; nothing was changed.';
    END IF;

    SELECT o.seller_id, o.name INTO v_org_seller, v_org_name
      FROM platform.customer_organizations o WHERE o.org_id = v_org;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown organization %: it is not a Platform customer organization', v_org
            USING HINT = 'Check the org id (the candidates of "review list" are valid ones); nothing was changed.';
    END IF;

    SELECT s.seller_id INTO v_seller FROM platform.sellers s WHERE s.sophos_partner_id = v_partner;
    IF v_seller IS NULL THEN
        RAISE EXCEPTION 'customer % (%) belongs to Sophos partner %, which is no seller''s Sophos partner id',
                v_customer, v_name, coalesce(v_partner::text, '(none)')
            USING HINT = 'Set the Partner Tenant ID (External ID) of the right seller in the Platform first, '
                         'then resolve again; nothing was changed.';
    END IF;
    IF v_org_seller IS DISTINCT FROM v_seller THEN
        RAISE EXCEPTION 'organization % (%) belongs to seller %, but customer % (%) belongs to seller %',
                v_org, v_org_name, v_org_seller, v_customer, v_name, v_seller
            USING HINT = 'Pick an organization of seller ' || v_seller || '; nothing was changed.';
    END IF;

    SELECT * INTO v_current FROM sophos.customer_mappings m WHERE m.sophos_customer_id = v_customer FOR UPDATE;
    v_is_mapped := FOUND;
    IF v_is_mapped AND v_current.platform_org_id IS DISTINCT FROM v_org AND NOT coalesce(force, false) THEN
        RAISE EXCEPTION 'customer % (%) is already mapped to organization % (method %, by %)',
                v_customer, v_name, v_current.platform_org_id, v_current.method, v_current.mapped_by
            USING HINT = 'To replace that mapping, resolve again with --force (the old mapping is kept in '
                         'review.mapping_changes); nothing was changed.';
    END IF;

    IF NOT v_is_mapped OR v_current.platform_org_id IS DISTINCT FROM v_org OR v_current.method <> 'manual' THEN
        INSERT INTO sophos.customer_mappings AS m (sophos_customer_id, platform_org_id, method, mapped_at, mapped_by)
        VALUES (v_customer, v_org, 'manual', now(), v_by)
        ON CONFLICT ON CONSTRAINT customer_mappings_pkey DO UPDATE
            SET platform_org_id = EXCLUDED.platform_org_id, method = 'manual',
                mapped_at = EXCLUDED.mapped_at, mapped_by = EXCLUDED.mapped_by;
    END IF;

    INSERT INTO review.mapping_changes
        (sophos_customer_id, event, previous_org_id, previous_method, previous_mapped_by, platform_org_id, changed_by)
    VALUES (v_customer,
            CASE WHEN v_current.platform_org_id IS NOT NULL
                      AND v_current.platform_org_id <> v_org THEN 'remapped' ELSE 'resolved' END,
            v_current.platform_org_id, v_current.method, v_current.mapped_by, v_org, v_by);

    UPDATE review.unmapped_customers u
       SET status = 'resolved', resolved_org_id = v_org, resolved_by = v_by, resolved_at = now()
     WHERE u.sophos_customer_id = v_customer;

    RETURN QUERY SELECT v_org, v_org_seller, v_org_name;
END;
$$;

REVOKE ALL ON FUNCTION review.resolve_customer(uuid, text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION review.resolve_customer(uuid, text, text, boolean) TO support_agent;

COMMENT ON FUNCTION review.resolve_customer(uuid, text, text, boolean) IS
    'Map a Sophos customer to a Platform organization of its own seller (method manual), mark its review '
    'row resolved and return that organization. The seller comes from what the sync wrote, never from the '
    'review row. Refuses unknown ids, another seller''s organization, an unprintable name, and a customer '
    'mapped elsewhere unless force (the replaced mapping is recorded in review.mapping_changes).';

CREATE OR REPLACE FUNCTION platform.set_subscription_hidden(
    p_subscription_id uuid, p_hidden boolean, p_changed_by text, p_reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    was_hidden boolean;
    v_by       text;
    v_reason   text;
BEGIN
    IF coalesce(btrim(p_changed_by), '') = '' THEN
        RAISE EXCEPTION 'say who changes the subscription''s visibility (--by NAME); nothing was changed'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_by := sophos.checked_text(p_changed_by, 'the name of who changes the visibility (--by)', 200);
    IF p_hidden AND coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION 'give the reason for hiding subscription % (--reason TEXT); nothing was changed',
            p_subscription_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_reason IS NOT NULL THEN
        v_reason := sophos.checked_text(p_reason, 'the reason (--reason)', 500);
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
        hidden_by = CASE WHEN p_hidden THEN v_by END,
        hidden_reason = CASE WHEN p_hidden THEN v_reason END
    WHERE subscription_id = p_subscription_id;
    INSERT INTO platform.subscription_visibility_changes (subscription_id, action, changed_by, reason)
    VALUES (p_subscription_id, CASE WHEN p_hidden THEN 'hidden' ELSE 'unhidden' END, v_by, v_reason);
END
$$;

-- A seller sees a subscription only under the organization its customer is mapped to now: when the sync
-- takes a mapping out of use (seller_changed), its subscriptions leave the old seller's page at once.
CREATE OR REPLACE VIEW platform.seller_subscriptions AS
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
JOIN sophos.customer_mappings m
  ON m.sophos_customer_id = s.sophos_customer_id AND m.platform_org_id = s.platform_org_id
JOIN platform.customer_organizations o ON o.org_id = s.platform_org_id
WHERE s.hidden_at IS NULL;
