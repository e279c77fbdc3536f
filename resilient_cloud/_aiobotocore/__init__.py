"""The only code that touches aiobotocore and aiohttp internals.

Each module has one job: ``client`` swaps an entered client's class so its
calls go through our runtime, ``watch`` notes where an attempt failed,
``dns`` puts the DNS cache on the client's aiohttp connector, ``fallback``
builds fallback-region clients, ``session`` hooks client creation. Every
private name used here is pinned in ``tests/drift/test_aiobotocore_seams.py``.
"""
