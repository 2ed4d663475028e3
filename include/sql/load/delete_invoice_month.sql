-- The month is replaced as a whole; other months are untouched.
DELETE FROM sophos.invoice_lines WHERE billing_month = %(billing_month)s
