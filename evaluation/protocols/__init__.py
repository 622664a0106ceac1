"""Published protocols (the suite, the cold-start protocol) and their run configs (TOML)."""
