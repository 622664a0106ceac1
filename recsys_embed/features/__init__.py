"""Item features from text: tokens, word vectors, pooled item vectors."""

from recsys_embed.features.text import POOLINGS, TextFeaturizer, title_year, tokenize
from recsys_embed.features.vectors import WordVectors, load_word_vectors, train_word2vec

__all__ = [
    "POOLINGS",
    "TextFeaturizer",
    "WordVectors",
    "load_word_vectors",
    "title_year",
    "tokenize",
    "train_word2vec",
]
