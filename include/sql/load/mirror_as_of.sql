-- The month whose current state the mirror holds (no row before the first load).
SELECT as_of_month FROM sophos.mirror_state
