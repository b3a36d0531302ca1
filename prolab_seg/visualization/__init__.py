"""Visualizers (registered into mmseg's ``VISUALIZERS``)."""
from .local_visualizer import PropertySegLocalVisualizer

__all__ = ['PropertySegLocalVisualizer']
