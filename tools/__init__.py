"""Repository tooling: measure, then write the README's generated sections."""
