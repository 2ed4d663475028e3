-- The open history row of every subscription whose status changed ends now.
UPDATE sophos.subscription_status_history h
SET valid_to = now()
FROM sophos.subscriptions s
WHERE h.subscription_id = s.subscription_id
  AND h.valid_to IS NULL
  AND h.status <> s.status
