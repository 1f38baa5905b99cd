"""Experiment trackers of a training (`--report-to`): TensorBoard, W&B and MLflow through the Trainer's own
callbacks, with the run's settings as the tracker run's parameters."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import TrainerCallback

from ..core.errors import GenrmError
from ..core.train_config import trackers


def check_trackers(report_to: str) -> list[str]:
    """The trackers of `report_to`, each importable (else an error with the package to install)."""
    from transformers.integrations import is_mlflow_available, is_tensorboard_available, is_wandb_available

    names = trackers(report_to)
    available = {"tensorboard": is_tensorboard_available, "wandb": is_wandb_available, "mlflow": is_mlflow_available}
    missing = [t for t in names if not available[t]()]
    if missing:
        raise GenrmError(
            f"--report-to {report_to}: {', '.join(missing)} is not installed; `pip install "
            f"{' '.join(missing)}` or drop it from --report-to"
        )
    return names


def tracker_dir(out_dir: Path) -> Path:
    """Where TensorBoard's event files of the training that writes `out_dir` go (kept after training)."""
    return out_dir.with_name(out_dir.name + ".logs")


class _TrackerParams(TrainerCallback):
    """The run's own settings as the tracker's run parameters (the Trainer logs only its TrainingArguments), and
    one tracker run per training: a pipeline trains several verifiers in one process."""

    def __init__(self, handler, params: dict):
        self.handler, self.params = handler, params

    def _callbacks(self, name: str):
        return [c for c in self.handler.callbacks if type(c).__name__ == name]

    def on_train_begin(self, args, state, control, **kw):
        if not state.is_world_process_zero:
            return
        flat = {
            f"genrm/{k}": v if isinstance(v, (int, float, str, bool)) else json.dumps(v) for k, v in self.params.items()
        }
        for cb in self._callbacks("TensorBoardCallback"):
            if cb.tb_writer is not None:
                table = "\n".join(f"| {k} | {v} |" for k, v in flat.items())
                cb.tb_writer.add_text("genrm/config", "| setting | value |\n|---|---|\n" + table)
        for cb in self._callbacks("MLflowCallback"):
            if cb._ml_flow.active_run() is not None:
                items = list(flat.items())
                for i in range(0, len(items), 100):  # MLflow takes at most 100 parameters per call
                    cb._ml_flow.log_params(dict(items[i : i + 100]))
        for cb in self._callbacks("WandbCallback"):
            if cb._wandb is not None and cb._wandb.run is not None:
                cb._wandb.config.update({"genrm": self.params}, allow_val_change=True)

    def on_train_end(self, args, state, control, **kw):
        for cb in self._callbacks("WandbCallback"):
            if state.is_world_process_zero and cb._wandb is not None and cb._wandb.run is not None:
                cb._wandb.finish()  # the next verifier trained in this process gets a run of its own
                cb._initialized = False
