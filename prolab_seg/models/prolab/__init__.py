"""prolab-seg models: prolab."""
