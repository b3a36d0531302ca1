# ProLab's official optimiser for its ViT-B backbone: the AdamW recipe of prolab_adamw_160k.py
# (lr 6e-5, betas 0.9/0.999, weight decay 0.01, 1500 linear warm-up iterations from 1e-6 x lr,
# then poly decay (power 1) to 0 at 160k) with layer-wise lr decay 0.95 over 12 blocks, as
# ProLab's BEiT-style LayerDecayOptimizerConstructor groups them: with L = 12 + 2 layer ids,
# patch embedding / cls token / position table get lr x 0.95 ** 13, block i gets
# lr x 0.95 ** (12 - i), everything else (neck, heads, final norm) the full lr; biases and 1-d
# parameters (norms) get no weight decay, every other weight (cls token and position table too)
# 0.01.
# mmseg 1.2.2's LayerDecayOptimizerConstructor cannot do this for mmseg's VisionTransformer: it
# raises NotImplementedError for any backbone whose class name has no 'ConvNeXt', 'BEiT' or
# 'MAE'. The same groups are therefore written as mmengine custom_keys on VisionTransformer's
# parameter names (the longest matching key wins; tests check the resulting groups).
_base_ = ['./prolab_adamw_160k.py']
vit_num_layers = 12
layer_decay_rate = 0.95
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
        custom_keys={
            **{f'backbone.{name}': dict(lr_mult=layer_decay_rate**(vit_num_layers + 1))
               for name in ('cls_token', 'pos_embed', 'patch_embed.')},
            'backbone.patch_embed.projection.bias': dict(
                lr_mult=layer_decay_rate**(vit_num_layers + 1), decay_mult=0.0),
            **{f'backbone.layers.{i}.': dict(lr_mult=layer_decay_rate**(vit_num_layers - i))
               for i in range(vit_num_layers)},
            **{f'backbone.layers.{i}.{name}': dict(
                lr_mult=layer_decay_rate**(vit_num_layers - i), decay_mult=0.0)
               for i in range(vit_num_layers)
               for name in ('ln1.', 'ln2.', 'attn.attn.in_proj_bias', 'attn.attn.out_proj.bias',
                            'ffn.layers.0.0.bias', 'ffn.layers.1.bias')},
        }))
