"""Pure polars mapping helpers shared by flows."""
