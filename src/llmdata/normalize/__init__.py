"""Normalization: raw records -> common formats (chat, preference, ...) as Parquet."""
