# mmseg's default runtime, plus what every prolab-seg config wants: our modules registered
# (custom_imports) and a bit-identical `--resume` (ResumeRNGHook restores torch's RNG state,
# used by dropout, from the checkpoint).
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['prolab_seg'], allow_failed_imports=False)
custom_hooks = [dict(type='ResumeRNGHook')]
