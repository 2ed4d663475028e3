"""The load: the run's staged month into the mirror and the month's invoice lines in one transaction
(`mirror`), reconciled with Sophos's figures before and after the commit (`reconcile`)."""
