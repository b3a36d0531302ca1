"""prolab-seg models: equss."""
