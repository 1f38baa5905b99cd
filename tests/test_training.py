import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForSequenceClassification

from genrm.errors import GenrmError
from genrm.tasks import get_task
from genrm.training import TrainConfig, tokenize_prompt_completion, train_lm, train_orm


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
