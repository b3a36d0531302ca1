"""prolab-seg models: backbones (registered into mmseg's ``MODELS``) and offline ImageNet
weights (the ``offline://`` checkpoint scheme)."""
from .filter_bank import FilterBankBackbone, rgb_to_lab
from .input_adapter import InputAdapter
from .mobilenet_v2_convert import convert_mobilenet_v2, mobilenet_v2_key, split_mobilenet_v2
from .offline_weights import OFFLINE_WEIGHTS, load_offline_weights, offline_weights_file

__all__ = ['FilterBankBackbone', 'rgb_to_lab', 'InputAdapter', 'convert_mobilenet_v2', 'mobilenet_v2_key',
           'split_mobilenet_v2', 'OFFLINE_WEIGHTS', 'load_offline_weights', 'offline_weights_file']
