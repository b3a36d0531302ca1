"""Network-free multi-level clustering of backbone features."""
