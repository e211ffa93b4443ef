"""The SQLite index: catalog entries made searchable, rebuilt when the catalog changes."""
