# Category-supervised baseline on property-world (23 seen categories; unseen ones are ignored).
# Same model, data, seed and schedule as prolab_fcn-r18-d8_300it_property-world-64x64.py.
_base_ = [
    './_base_/models/fcn_r18-d8_property-world.py',
    './_base_/datasets/property_world.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/property_world_300it.py',
]
custom_imports = dict(imports=['prolab_seg', 'projects.property_world'],
                      allow_failed_imports=False)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))  # CPU-friendly (DDP: gloo)
# `--resume` continues bit-identically (restores torch's RNG state, used by dropout)
custom_hooks = [dict(type='ResumeRNGHook')]
# DDP without pinning device_ids: works for CPU/gloo (torchrun on CPU) and single-GPU-per-process
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
    find_unused_parameters=False)
