"""The only code that touches botocore internals.

Every private name used here is listed in docs/architecture.md and pinned by
tests/drift, which fails loudly when an upgrade changes it.
"""
