"""Device profiles as data: one TOML file per device class (read by ``edge.profiles``)."""
