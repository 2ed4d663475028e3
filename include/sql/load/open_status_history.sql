-- Every subscription without an open history row (new, or just closed above) opens one at its status.
INSERT INTO sophos.subscription_status_history (subscription_id, status, valid_from, valid_to)
SELECT s.subscription_id, s.status, now(), NULL
FROM sophos.subscriptions s
WHERE NOT EXISTS (
    SELECT 1 FROM sophos.subscription_status_history h
    WHERE h.subscription_id = s.subscription_id AND h.valid_to IS NULL)
