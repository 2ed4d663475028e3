-- A Distributor Admin hides (or shows again) a subscription on the seller's page; SECURITY DEFINER, so the
-- distributor_admin role needs no right on sophos.subscriptions.
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

REVOKE ALL ON FUNCTION platform.set_subscription_hidden(uuid, boolean, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.set_subscription_hidden(uuid, boolean, text, text) TO distributor_admin;
