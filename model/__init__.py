"""Keras only: model builders, training, evaluation, export and loading, prediction.

No Ray and no Redis here, so one training run works without a cluster. The configuration
names (``ModelConfig``, ``TrainConfig``, their constants and errors) import without
TensorFlow, so a spec parses without it; the rest load their modules (and Keras) on first use.
"""

from typing import TYPE_CHECKING

import lazy_loader

from ._config import (
    ARCHITECTURES,
    CLASS_WEIGHTS,
    ENCODERS,
    LSTM_KERNELS,
    MAX_NGRAM_BUCKETS,
    OPTIMIZERS,
    POOLINGS,
    UNFREEZE,
    ConfigError,
    GpuUnavailable,
    LMEpoch,
    LMSettings,
    ModelConfig,
    ModelFileError,
    TrainConfig,
)
from ._html import figures as html_figures
from ._html import page as html_page
from ._html import table as html_table

if TYPE_CHECKING:
    from ._blend import (
        WEIGHT_GRID,
        blend_classes,
        blend_layer,
        branch_logits,
        fit_branch_weight,
        set_branch_weight,
    )
    from ._builders import build_model, load_embeddings, ngram_ids
    from ._evaluate import (
        LABELS,
        Evaluation,
        evaluate,
        evaluate_probabilities,
        inference_latency_ms,
        predicted_classes,
    )
    from ._export import (
        MODEL_FILE,
        end_to_end,
        export_classes,
        export_model,
        load_model,
        load_portable_weights,
        predict_texts,
        save_portable_weights,
        verify_export,
        write_metadata,
    )
    from ._layers import BranchDropout, KeepLastTokens, TextCleaner
    from ._lstm import ProjectedLSTM, cpu_has_native_bf16, use_projected_lstm
    from ._optimizers import FusedAdam, FusedAdamW, ScaledRMSprop
    from ._pretrain import (
        ENCODER_LAYERS,
        LanguageModel,
        fine_tuning,
        lm_windows,
        load_encoder,
        pretrain_language_model,
    )
    from ._report import REPORT_DIR, error_analysis, write_evaluation_report
    from ._train import (
        EpochResult,
        FirstBatchClock,
        compile_model,
        configure_runtime,
        fit,
        make_dataset,
    )

__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "_blend": [
            "WEIGHT_GRID",
            "blend_classes",
            "blend_layer",
            "branch_logits",
            "fine_tuning",
            "fit_branch_weight",
            "set_branch_weight",
        ],
        "_builders": ["build_model", "load_embeddings", "ngram_ids"],
        "_evaluate": [
            "LABELS",
            "Evaluation",
            "evaluate",
            "evaluate_probabilities",
            "inference_latency_ms",
            "predicted_classes",
        ],
        "_export": [
            "MODEL_FILE",
            "end_to_end",
            "export_classes",
            "export_model",
            "load_model",
            "load_portable_weights",
            "predict_texts",
            "pretrain_language_model",
            "save_portable_weights",
            "verify_export",
            "write_metadata",
        ],
        "_layers": ["BranchDropout", "KeepLastTokens", "TextCleaner"],
        "_lstm": ["ProjectedLSTM", "cpu_has_native_bf16", "use_projected_lstm"],
        "_optimizers": ["FusedAdam", "FusedAdamW", "ScaledRMSprop"],
        "_pretrain": [
            "ENCODER_LAYERS",
            "LanguageModel",
            "fine_tuning",
            "lm_windows",
            "load_encoder",
            "pretrain_language_model",
        ],
        "_report": ["REPORT_DIR", "error_analysis", "write_evaluation_report"],
        "_train": [
            "EpochResult",
            "FirstBatchClock",
            "compile_model",
            "configure_runtime",
            "fit",
            "make_dataset",
        ],
    },
)


__all__ = [
    "ARCHITECTURES",
    "CLASS_WEIGHTS",
    "ENCODERS",
    "ENCODER_LAYERS",
    "LABELS",
    "LSTM_KERNELS",
    "MAX_NGRAM_BUCKETS",
    "MODEL_FILE",
    "OPTIMIZERS",
    "POOLINGS",
    "REPORT_DIR",
    "UNFREEZE",
    "WEIGHT_GRID",
    "BranchDropout",
    "ConfigError",
    "EpochResult",
    "Evaluation",
    "FirstBatchClock",
    "FusedAdam",
    "FusedAdamW",
    "GpuUnavailable",
    "KeepLastTokens",
    "LMEpoch",
    "LMSettings",
    "LanguageModel",
    "ModelConfig",
    "ModelFileError",
    "ProjectedLSTM",
    "ScaledRMSprop",
    "TextCleaner",
    "TrainConfig",
    "blend_classes",
    "blend_layer",
    "branch_logits",
    "build_model",
    "compile_model",
    "configure_runtime",
    "cpu_has_native_bf16",
    "end_to_end",
    "error_analysis",
    "evaluate",
    "evaluate_probabilities",
    "export_classes",
    "export_model",
    "fine_tuning",
    "fit",
    "fit_branch_weight",
    "html_figures",
    "html_page",
    "html_table",
    "inference_latency_ms",
    "lm_windows",
    "load_embeddings",
    "load_encoder",
    "load_model",
    "load_portable_weights",
    "make_dataset",
    "ngram_ids",
    "predict_texts",
    "predicted_classes",
    "pretrain_language_model",
    "save_portable_weights",
    "set_branch_weight",
    "use_projected_lstm",
    "verify_export",
    "write_evaluation_report",
    "write_metadata",
]
