"""Column mappings shipped as JSON, for files from outside (load one with --mapping-file)."""
