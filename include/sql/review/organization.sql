-- Name and seller of one Platform customer organization (for messages after a resolve).
SELECT org_id, seller_id, name FROM platform.customer_organizations WHERE org_id = %(org_id)s
