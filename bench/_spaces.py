"""The search space the comparison benchmarks share: the default space at bench size."""

SPACE = {  # shorter sequences and smaller vocabularies than the default space
    "architecture": ["lstm", "bilstm", "conv_lstm", "stacked_lstm"],
    "vocab_size": [5000, 10000],
    "sequence_length": [100, 200],
    "embedding_dim": [32, 64],
    "units": [16, 32, 64],
    "layers": {"low": 2, "high": 3},
    "dropout": {"low": 0.1, "high": 0.5},
    "pooling": ["max", "mean", "last"],
    "conv_filters": [32, 64],
    "conv_kernel_size": [3, 5],
    "optimizer": ["adam", "rmsprop", "adamw"],
    "learning_rate": {"low": 0.0003, "high": 0.01, "log": True},
    "batch_size": [64, 128],
    "ngram_buckets": [0],  # LSTM-only models: the README's comparison was measured without
}
QUICK_SPACE = {
    **SPACE,
    "vocab_size": [100, 300],
    "sequence_length": [24, 40],
    "embedding_dim": [8],
    "units": [4, 8],
}
