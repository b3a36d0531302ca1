"""Runner parts that are not models (as mmseg's ``engine``): hooks."""
from .hooks import ResumeRNGHook

__all__ = ['ResumeRNGHook']
