"""The ``zt`` command line."""
