"""Connected warehouses and app databases: URLs and secrets, drivers, the catalog, push-down.

A connection is a workspace-level name for a PostgreSQL database, an SQLite
file or a DuckDB file. Its tables appear in every board's catalog as
``NAME.schema.table``; a SQL block that reads only one connection runs there
(translated by sqlglot), a block that mixes them with local data pulls each
remote part once into the board's sandboxed DuckDB.
"""
