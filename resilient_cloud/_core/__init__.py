"""The sans-I/O call core: what a call does next, decided without I/O.

``machine.CallCore`` is the state machine, ``actions`` what it asks a
driver to do, ``decisions`` the pure rules it applies. The drivers live in
:mod:`resilient_cloud._drivers`.
"""
