"""Entry points, as mmseg's ``apis``: train / test runs (:mod:`.train_test`, behind
``tools/train.py`` and ``tools/test.py``) and inference on images (:mod:`.inference`, behind
``tools/segment.py``)."""
from .inference import (TILE_MARGIN, TILE_SIZE, load_segmentor, predict, segment_images,
                        summarize, top_properties, write_results)
from .train_test import (CheckpointError, add_run_args, build_runner, check_checkpoint,
                         check_fits, check_run_inputs, load_config, load_weights,
                         release_process_group, set_local_rank, test, train)

__all__ = [
    'TILE_MARGIN', 'TILE_SIZE', 'load_segmentor', 'predict', 'segment_images', 'summarize',
    'top_properties', 'write_results',
    'CheckpointError', 'add_run_args', 'build_runner', 'check_checkpoint', 'check_fits',
    'check_run_inputs', 'load_config', 'load_weights', 'release_process_group',
    'set_local_rank', 'test', 'train',
]
