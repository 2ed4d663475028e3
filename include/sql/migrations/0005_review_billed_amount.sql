-- One unambiguous name for Support's figures: the amount billed (in `currency`) in the billing month
-- `billed_month`, instead of the look-alike pair month_amount (a number) and amount_month (a date).
ALTER TABLE review.unmapped_customers RENAME COLUMN month_amount TO billed_amount;
ALTER TABLE review.unmapped_customers RENAME COLUMN amount_month TO billed_month;
COMMENT ON COLUMN review.unmapped_customers.billed_amount IS
    'what the customer''s invoice lines of billed_month add up to, in currency (its lines'' main currency)';
COMMENT ON COLUMN review.unmapped_customers.billed_month IS
    'the billing month (first day) that billed_amount, currency and subscription_count describe';
