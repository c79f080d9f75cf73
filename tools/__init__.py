"""Repository tooling: measure, then write the generated sections of the README and the docs."""
