"""prolab-seg datasets (registered into mmseg on import)."""
