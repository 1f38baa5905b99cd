import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForSequenceClassification

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
