"""A package, so pytest puts the repo root (not tests/) on sys.path: `routing` is the real one."""
