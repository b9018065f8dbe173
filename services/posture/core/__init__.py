"""posture's pure core. Parsing: `load.load_files` / `load.load_bytes` turn declarations
(`declarations/`, types in `declarations.model`) and cloud audit logs (`auditlogs/`,
types in `auditlogs.model`) into typed items and precise `model.ParseError`s."""
