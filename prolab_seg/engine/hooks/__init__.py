"""Generic training hooks, registered into mmseg's ``HOOKS`` on import."""
from .resume_rng_hook import ResumeRNGHook

__all__ = ['ResumeRNGHook']
