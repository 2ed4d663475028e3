-- SECURITY DEFINER so the support_agent role can map a customer without any right on sophos.*; the
-- fixed search_path and schema-qualified names keep a caller's objects from being used instead of ours.
CREATE OR REPLACE FUNCTION review.resolve_customer(
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
