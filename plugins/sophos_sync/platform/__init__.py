"""The Platform's side: sellers linked to their Sophos Partner Tenant IDs (`sellers`), and subscriptions hidden on
a seller's page by a Distributor Admin (`visibility`)."""
