"""A Citus cluster on this machine, for trying opsmart on Citus and for the tests.

``build``: Citus found in a cache or built once from the vendored sources for the
embedded server; ``nodes``: the coordinator and workers, their databases and
registration; ``commands``: ``opsmart cluster up|down|status|...``.
"""
