import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForSequenceClassification

from genrm.core.errors import GenrmError
from genrm.models.training import TrainConfig, tokenize_prompt_completion, train_lm, train_orm
from genrm.tasks import get_task


def _rows(n=64):
    task = get_task("last_letter")
    ps = task.make_problems(n, [1, 2], seed=0)
    return [task.prompt(p) for p in ps], [task.reference_solution(p) for p in ps]


def test_completion_only_labels(nano):
    _, tok = nano
    rows = tokenize_prompt_completion(tok, ["Q: ab\nA:"], [" b"])
    ids, labels = rows[0]["input_ids"], rows[0]["labels"]
    n_prompt = len(tok("Q: ab\nA:").input_ids)
    assert labels[:n_prompt] == [-100] * n_prompt
    assert labels[n_prompt:] == ids[n_prompt:] and ids[-1] == tok.eos_token_id


def test_train_lm_moves_weights_and_lowers_loss(nano, tmp_path):
    model, tok = nano
    before = {k: v.clone() for k, v in model.state_dict().items()}
    prompts, completions = _rows()
    log = train_lm(model, tok, prompts, completions, TrainConfig(max_steps=30, batch_size=16, lr=3e-3), tmp_path)
    losses = [loss for _, loss in log["losses"]]
    assert losses[-1] < losses[0] * 0.8
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) == len(before)
    # saved as an ordinary Hugging Face folder
    again = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)("ab").input_ids == tok("ab").input_ids
    assert torch.equal(again.state_dict()["lm_head.weight"], model.state_dict()["lm_head.weight"])


def test_train_orm_moves_head_and_lowers_loss(nano, tmp_path):
    base, tok = nano
    base.config.num_labels, base.config.problem_type = 1, "multi_label_classification"
    model = LlamaForSequenceClassification(base.config)
    head = model.score.weight.clone()
    prompts, completions = _rows()
    texts = [p + c for p, c in zip(prompts, completions)] + [p + " x -> y. Answer: q" for p in prompts]
    labels = [1] * len(prompts) + [0] * len(prompts)
    log = train_orm(model, tok, texts, labels, TrainConfig(max_steps=30, batch_size=16, lr=3e-3), tmp_path)
    losses = [loss for _, loss in log["losses"]]
    assert losses[-1] < losses[0]
    assert not torch.equal(model.score.weight, head)


def test_train_orm_uses_binary_cross_entropy_whatever_the_config_says(nano, tmp_path):
    """With the config left at regression (MSE would start near 0.5 on 0/1 labels), the loss is BCE: ln 2
    for a fresh head whose logits are near 0."""
    base, tok = nano
    base.config.num_labels, base.config.problem_type = 1, None
    model = LlamaForSequenceClassification(base.config)
    torch.nn.init.zeros_(model.score.weight)  # logits exactly 0 at the start
    prompts, completions = _rows()
    texts = [p + c for p, c in zip(prompts, completions)] * 2
    cfg = TrainConfig(max_steps=2, batch_size=16, lr=1e-9)
    log = train_orm(model, tok, texts, [1, 0] * len(prompts), cfg, tmp_path)
    assert log["losses"][0][1] == pytest.approx(math.log(2), abs=1e-3)
    base.config.num_labels = 2
    with pytest.raises(GenrmError, match="num_labels=1"):
        train_orm(LlamaForSequenceClassification(base.config), tok, texts, [1] * len(texts), TrainConfig(), tmp_path)


def test_tensorboard_logs_read_back_as_the_train_log(nano, tmp_path):
    """`report_to=tensorboard`: Transformers' own TensorBoard callback writes beside the model (not into the
    deleted checkpoint folder); the event file, read back with TensorBoard's reader, holds the same loss history
    as train_log.json and the settings as text."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model, tok = nano
    prompts, completions = _rows()
    cfg = TrainConfig(max_steps=40, batch_size=16, lr=3e-3, report_to="tensorboard")
    log = train_lm(model, tok, prompts, completions, cfg, tmp_path / "m", params={"task": "last_letter", "k": 4})
    events = EventAccumulator(str(tmp_path / "m.logs"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    logged = [(e.step, e.value) for e in events.Scalars("train/loss")]
    assert len(logged) == len(log["losses"]) >= 10
    for (step, value), (want_step, want) in zip(logged, log["losses"]):
        assert step == want_step and value == pytest.approx(want, rel=1e-6)  # float32 in the event file
    text = events.Tensors("genrm/config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| genrm/task | last_letter |" in text and "| genrm/k | 4 |" in text
    assert not (tmp_path / "m.checkpoints").exists()


def test_unknown_or_missing_tracker_is_a_clear_error(nano, tmp_path, monkeypatch):
    from genrm.core.config import RunConfig

    with pytest.raises(GenrmError, match="unknown tracker.*tensorbord.*tensorboard, wandb, mlflow"):
        TrainConfig(report_to="tensorbord")
    with pytest.raises(GenrmError, match="unknown tracker"):
        RunConfig(report_to="comet")
    import transformers.integrations as integrations

    monkeypatch.setattr(integrations, "is_mlflow_available", lambda: False)
    model, tok = nano
    with pytest.raises(GenrmError, match="mlflow is not installed; `pip install mlflow`"):
        train_lm(model, tok, ["Q: a\nA:"], [" a"], TrainConfig(max_steps=2, report_to="mlflow"), tmp_path / "m")
    assert not (tmp_path / "m").exists()


class _Interrupt(Exception):
    pass


def _stop_at(step: int):
    from transformers import TrainerCallback

    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == step:
                raise _Interrupt(step)

    return Stop()


def test_time_based_checkpoints_resume_and_other_settings_checkpoints_are_deleted(tmp_path):
    """With checkpoints by time only (checkpoint_steps=0), an interrupted training resumes from its last
    checkpoint and ends with the losses of an unbroken one; checkpoints left by other settings are deleted,
    not resumed."""
    from genrm.models.model import build_tiny_model

    prompts, completions = _rows()
    cfg = TrainConfig(max_steps=12, batch_size=16, lr=3e-3, checkpoint_steps=0, checkpoint_minutes=1e-6)

    def train(cfg, out, callbacks=()):
        model, tok = build_tiny_model("nano", seed=0)
        return train_lm(model, tok, prompts, completions, cfg, out, callbacks=callbacks)

    unbroken = train(cfg, tmp_path / "unbroken")
    with pytest.raises(_Interrupt):
        train(cfg, tmp_path / "m", [_stop_at(7)])
    saved = sorted((tmp_path / "m.checkpoints").glob("checkpoint-*"))
    assert [p.name for p in saved] == ["checkpoint-6"]  # by time (every step here), the last one before the stop
    resumed = train(cfg, tmp_path / "m")
    assert [s for s, _ in resumed["losses"]] == [s for s, _ in unbroken["losses"]]
    assert [x for _, x in resumed["losses"]] == pytest.approx([x for _, x in unbroken["losses"]], rel=1e-4)
    assert not (tmp_path / "m.checkpoints").exists()  # a finished training drops its checkpoints

    with pytest.raises(_Interrupt):
        train(cfg, tmp_path / "o", [_stop_at(7)])
    other = TrainConfig(max_steps=12, batch_size=16, lr=1e-3, checkpoint_steps=0, checkpoint_minutes=1e-6)
    seen = []

    from transformers import TrainerCallback

    class FirstStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            seen.append(state.global_step)

    changed = train(other, tmp_path / "o", [FirstStep()])
    assert seen[0] == 1  # started from scratch: the lr=3e-3 checkpoint was not resumed
    assert [x for _, x in changed["losses"]] == pytest.approx([x for _, x in train(other, tmp_path / "p")["losses"]])


def test_orm_loss_is_the_step_mean_with_gradient_accumulation(nano, tmp_path):
    """Two accumulation steps of 8 rows: the loss (and so the gradient) is the mean over the step's 16 rows, ln 2
    for a fresh head, not the sum of the two micro-batch means (Transformers does not divide a loss that takes
    `num_items_in_batch` by the accumulation steps; the ORM's once ignored it and read 2 ln 2)."""
    base, tok = nano
    base.config.num_labels, base.config.problem_type = 1, "multi_label_classification"
    model = LlamaForSequenceClassification(base.config)
    torch.nn.init.zeros_(model.score.weight)  # logits exactly 0 at the start: BCE ln 2 on every row
    prompts, completions = _rows()
    texts = [p + c for p, c in zip(prompts, completions)]
    cfg = TrainConfig(max_steps=2, batch_size=8, grad_accum=2, lr=1e-9, checkpoint_minutes=0)
    log = train_orm(model, tok, texts, [i % 2 for i in range(len(texts))], cfg, tmp_path)
    assert log["losses"][0][1] == pytest.approx(math.log(2), abs=1e-3)
