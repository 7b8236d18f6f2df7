"""A paper's meaning as a vector: from the model inside the wordllama wheel, never fetched."""

from __future__ import annotations

import socket
from importlib.resources import files

import numpy as np
import pytest

from digest.papers import embedding
from digest.papers.embedding import DIMENSIONS, embed, embed_papers


def test_each_text_becomes_a_unit_vector_and_an_empty_one_becomes_zeros():
    vectors = embed(["Speech recognition with transformers", ""])

    assert vectors.shape == (2, DIMENSIONS)
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-5)
    assert not vectors[1].any()


def test_texts_that_mean_the_same_are_closer_than_texts_about_something_else():
    speech, spoken, robots = embed_papers(
        [
            ("Automatic speech recognition", "We transcribe audio of people talking."),
            ("Spoken language understanding", "A model listens to voice recordings."),
            ("Legged locomotion", "A quadruped robot learns to climb stairs."),
        ]
    )

    assert speech @ spoken > speech @ robots + 0.1


def test_the_vectors_are_the_ones_wordllama_itself_computes():
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    _, table = embedding._model()
    package = files("wordllama")
    tokenizer = package / "tokenizers" / "l2_supercat_tokenizer_config.json"
    reference = WordLlamaInference(table, Tokenizer.from_file(str(tokenizer)))
    texts = ["Reward models for RLHF", "A long abstract " * 40, "Vision-language agents"]

    assert np.allclose(embed(texts), reference.embed(texts, norm=True), atol=1e-5)


def test_loading_the_model_needs_no_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the embedding model tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    embedding._model.cache_clear()

    assert embed(["offline"]).shape == (1, DIMENSIONS)
