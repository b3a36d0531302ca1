"""prolab-seg models: backbones (registered into mmseg's ``MODELS``)."""
from .filter_bank import FilterBankBackbone, rgb_to_lab

__all__ = ['FilterBankBackbone', 'rgb_to_lab']
