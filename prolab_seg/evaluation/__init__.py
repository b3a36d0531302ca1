"""prolab-seg evaluation (registered into mmseg on import)."""
