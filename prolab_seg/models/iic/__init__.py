"""prolab-seg models: iic."""
