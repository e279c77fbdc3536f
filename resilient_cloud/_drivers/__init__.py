"""The drivers: they do what the call core (:mod:`resilient_cloud._core`)
decides. ``sync`` runs calls on the caller's thread (hedge legs on worker
threads), ``asyncio`` in the caller's task (hedge legs as tasks). What they
share without waiting is in ``common``."""
