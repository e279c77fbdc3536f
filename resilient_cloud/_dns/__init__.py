"""The DNS answer cache: pure freshness decisions (``record``), where answers
come from (``backends``), and the shared cache that serves them (``cache``)."""
