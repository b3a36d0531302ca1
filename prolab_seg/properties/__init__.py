"""Property label space (ProLab): descriptions, embedding, k-means, assignment."""
