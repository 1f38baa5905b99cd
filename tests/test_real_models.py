"""The real-model path on tiny models built here: LoRA SFT and ORM, merging, the paper's released
data imported and trained on with the same pipeline, teacher rationales over HTTP."""

import json
import zipfile
from pathlib import Path

import pytest
import torch

from genrm.core.config import preset_config
from genrm.core.formats import DECISION
from genrm.core.types import Candidate, Problem
from genrm.data.released import import_release
from genrm.data.teacher import parse_verdict, teacher_rationales
from genrm.engines.openai import OpenAIEngine
from genrm.models.model import LORA_BASE, load_model, merge_lora
from genrm.models.testing import save_tiny_lm
from genrm.models.training import TrainConfig, train_lm, train_orm
from genrm.pipeline import Run, run_all
from genrm.tasks import get_task
from genrm.tasks.data import PAPER_PROMPT

RELEASE = Path(__file__).resolve().parents[2] / "shared" / "data" / "genrm-critiques"


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    return save_tiny_lm(tmp_path_factory.mktemp("base") / "qwen2", arch="qwen2")


def _logits(model, tok, text="Q: 3 + 4? The answer is 7."):
    with torch.inference_mode():
        return model(**tok(text, return_tensors="pt")).logits


def test_lora_sft_saves_loads_and_merges(base_dir, tmp_path):
    model, tok = load_model(base_dir, dtype=torch.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = TrainConfig(max_steps=4, batch_size=2, lr=5e-2, lora_r=4, warmup_ratio=0.0)
    log = train_lm(model, tok, ["Q: 1+1?"] * 4, [" The answer is 2."] * 4, cfg, tmp_path / "lora", what="lora")
    assert (tmp_path / "lora" / "adapter_config.json").exists() and (tmp_path / "lora" / LORA_BASE).exists()
    assert 0 < log["trainable_parameters"] < sum(v.numel() for v in before.values())
    reloaded, rtok = load_model(tmp_path / "lora")
    base_now = {
        k.replace("base_model.model.", "").replace(".base_layer", ""): v for k, v in reloaded.state_dict().items()
    }
    assert all(torch.equal(before[k], base_now[k]) for k in before if k in base_now)  # the base is untouched
    lora_b = [v for k, v in reloaded.state_dict().items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # LoRA B starts at zero: training moved it
    expected = _logits(reloaded, rtok)
    assert not torch.allclose(expected, _logits(*load_model(base_dir)))
    merged = merge_lora(tmp_path / "lora", tmp_path / "merged")
    assert not (merged / "adapter_config.json").exists()
    assert torch.allclose(_logits(*load_model(merged)), expected, atol=1e-4)


def test_orm_with_lora(base_dir, tmp_path):
    from genrm.verifiers import ORMVerifier

    model, tok = load_model(base_dir, kind="orm", num_labels=1, problem_type="multi_label_classification")
    cfg = TrainConfig(max_steps=3, batch_size=2, lr=1e-2, lora_r=4)
    train_orm(model, tok, ["a right one", "a wrong one"] * 2, [True, False] * 2, cfg, tmp_path / "orm", what="ORM")
    scores = ORMVerifier.from_pretrained(tmp_path / "orm").score([("Q: ", "a right one"), ("Q: ", "a wrong one")])
    # by hand: PEFT's own loader of the adapter (with its trained score head), sigmoid of the scalar logit
    from peft import AutoPeftModelForSequenceClassification

    peft_model = AutoPeftModelForSequenceClassification.from_pretrained(tmp_path / "orm", num_labels=1).eval()
    want = []
    for text in ("Q: a right one", "Q: a wrong one"):
        with torch.no_grad():
            want.append(torch.sigmoid(peft_model(**tok(text, return_tensors="pt")).logits[0, 0].float()).item())
    assert [s for s, _, _ in scores] == pytest.approx(want, rel=2e-2)
    assert abs(want[0] - want[1]) > 1e-4  # two texts, two scores: a mixed-up or constant score would show


def _release_row(question: str, solution: str, correct: bool, cot: bool, qid: int) -> dict:
    solve = PAPER_PROMPT.format(question=question)
    if cot:
        target = f"Step 1 is {'right' if correct else 'wrong'}.\n\n{DECISION} {'Yes' if correct else 'No'}"
        return {
            "inputs": f"{solve}{solution}\nVerification: Let's verify step by step.\n",
            "targets": target,
            "question_id": qid,
            "model_output_id": 0,
        }
    return {
        "inputs": f"{solve}{solution}\n{DECISION}",
        "targets": " Yes" if correct else " No",
        "question_id": qid,
        "model_output_id": 0,
    }


def _write_release(folder: Path) -> None:
    """A small folder in the released files' layout (zips of JSONL) with known contents."""
    folder.mkdir()
    for name, cot, qids in [
        ("rm_{}_solutions_batch_00.zip", False, range(0, 12)),
        ("rm_{}_solutions_batch_08_val.zip", False, range(100, 106)),
        ("critiques_{}_solutions_batch_16_val.zip", True, range(200, 204)),
    ]:
        for correct in (True, False):
            rows = []
            for q in qids:
                a, b = q % 7 + 1, q % 5 + 2
                ans = a + b if correct else a + b + 1
                rows.append(
                    _release_row(
                        f"Tom has {a} apples and gets {b} more. How many?",
                        f"{a} + {b} = {ans}. The answer is {ans}.",
                        correct,
                        cot,
                        q,
                    )
                )
            fname = name.format("correct" if correct else "incorrect")
            with zipfile.ZipFile(folder / fname, "w") as z:
                z.writestr(fname.replace(".zip", ".jsonl"), "\n".join(json.dumps(r) for r in rows))


def test_import_and_train_on_released_rows(base_dir, tmp_path):
    _write_release(tmp_path / "release")
    stats = import_release(tmp_path / "release", tmp_path / "imported")
    assert stats["genrm"] == {"rows": 24, "yes": 12, "no": 12, "questions": 12}
    assert stats["genrm_val"]["rows"] == 12 and stats["genrm_cot_val"]["rows"] == 8
    assert stats["test_set"] == {"problems": 6, "candidates": 12, "correct": 6}
    rows = [json.loads(x) for x in (tmp_path / "imported" / "verifier_data" / "genrm.jsonl").read_text().splitlines()]
    orm = [json.loads(x) for x in (tmp_path / "imported" / "verifier_data" / "orm.jsonl").read_text().splitlines()]
    for r, o in zip(rows, orm):  # the same solutions, split for the ORM; the paper's prompt kept verbatim
        assert r["prompt"] == o["prompt"] + o["completion"] + "\n" + DECISION
        assert r["completion"] == (" Yes" if r["label"] else " No") and r["prompt"].startswith("Solve the math")
    config = preset_config(
        "micro",
        task="gsm8k",
        generator=str(base_dir),
        verifier_data_dir=str(tmp_path / "imported"),
        test_candidates=str(tmp_path / "imported"),
        methods="orm,genrm,judge",
        lora_r=4,
        ver_steps=2,
        ver_batch_size=4,
        k_votes=2,
        cot_max_new_tokens=8,
        chat_template="never",
    )
    run = Run.create(tmp_path / "run", config)
    results = run_all(run)
    assert set(results["methods"]) >= {"ORM", "GenRM", "LLM-as-a-Judge"}
    assert results["methods"]["self-consistency"]["best_of_n"]["1"] == 0.5  # answers were extracted
    assert (run.file("models", "genrm", "adapter_config.json")).exists()
    assert not run.file("models", "generator").exists()  # a pretrained generator is not trained


@pytest.mark.skipif(not RELEASE.exists(), reason="../shared/data/genrm-critiques is not here")
def test_import_real_release_counts(tmp_path):
    stats = import_release(RELEASE, tmp_path / "out", max_rows=50)
    g = stats["genrm"]
    assert g["rows_total"] == 165652 and 112_000 < g["yes_total"] < 114_000 and 51_000 < g["no_total"] < 53_000
    assert g["rows"] == 50 and stats["malformed_rows"] == 0
    assert stats["test_set"]["problems"] > 100


@pytest.mark.skipif(not RELEASE.exists(), reason="../shared/data/genrm-critiques is not here")
def test_teacher_verdicts_on_the_papers_teacher_logs():
    import gzip

    agree = total = 0
    with gzip.open(RELEASE / "critique_gen_incorrect_solutions_round_0_shard_0.jsonl.gz", "rt") as f:
        for line, _ in zip(f, range(500)):
            r = json.loads(line)
            v = parse_verdict(r["verifier_output"])
            total += 1
            agree += v is not None and v[1] == bool(r["correctness"])
    assert agree / total > 0.7  # the paper's teacher mostly agrees with the labels; the parser reads it


def test_teacher_majority_filter_and_http(server, tmp_path):
    task = get_task("gsm8k")
    p = Problem("p1", "Tom has 3 apples and gets 4 more. How many?", "7", {"solution": "3 + 4 = 7.\nThe answer is 7."})
    cands = [
        Candidate("p1", 0, "3 + 4 = 7. The answer is 7.", "7", True),
        Candidate("p1", 1, "3 + 4 = 8. The answer is 8.", "8", False),
        Candidate("p1", 2, "3 * 4 = 12. The answer is 12.", "12", False),
    ]
    pairs = [(p, c) for c in cands]
    yes, no = f"Step 1 ok.\n{DECISION} Yes", "Step 1 wrong.\n**Verification:** Is the answer correct (Yes/No)? No"
    raw = tmp_path / "raw.jsonl"  # earlier teacher outputs: the resume path reads them, the teacher is not asked
    raw.write_text(
        "\n".join(
            json.dumps({"problem_id": "p1", "index": i, "label": c.correct, "outputs": o})
            for i, (c, o) in enumerate(zip(cands, [[yes, yes, no], [no, yes, "junk"], [no, no, no]]))
        )
    )
    kept, stats = teacher_rationales(None, task, pairs, raw, k=3)
    assert set(kept) == {("p1", 0), ("p1", 2)}  # candidate 1: 1 of 3 agree -> dropped
    assert len(kept[("p1", 0)]) == 2 and kept[("p1", 2)][0].endswith(f"{DECISION} No")
    assert stats["candidates_dropped"] == 1 and stats["no_verdict"] == 1
    assert "Expected Answer: 3 + 4 = 7." in task.teacher_prompt(p, cands[1].text)  # the teacher sees the reference
    # the same stage through a real OpenAI-compatible server: runs, records every output, and drops what disagrees
    url, _ = server
    kept2, stats2 = teacher_rationales(OpenAIEngine(url), task, pairs, tmp_path / "raw2.jsonl", k=2, max_new_tokens=8)
    lines = (tmp_path / "raw2.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(len(json.loads(x)["outputs"]) == 2 for x in lines)
    assert stats2["rationales"] == 6 and stats2["candidates_kept"] + stats2["candidates_dropped"] == 3


def test_jsonl_task_sampled_by_a_chat_model_and_judged(base_dir, tmp_path):
    """Your own JSONL data, a pretrained generator with a chat template: sample, label, judge, evaluate."""
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"What is {i} + {i}?", "answer": str(2 * i)}) for i in range(12)))
    config = preset_config(
        "micro",
        task="jsonl",
        data=str(data),
        generator=str(base_dir),
        methods="judge",
        n_test=4,
        n_verifier_train=4,
        n_candidates=3,
        k_votes=2,
        max_new_tokens=12,
        cot_max_new_tokens=8,
    )
    run = Run.create(tmp_path / "run", config)
    results = run_all(run)
    assert "LLM-as-a-Judge" in results["methods"] and results["problems"] == 4
    sampled = [json.loads(x) for x in run.file("samples", "test.jsonl").read_text().splitlines()]
    assert len(sampled) == 4 and all(len(r["samples"]) == 3 for r in sampled)
    test_qs = {json.loads(x)["question"] for x in run.file("problems", "test.jsonl").read_text().splitlines()}
    train_qs = {
        json.loads(x)["question"] for x in run.file("problems", "verifier_train.jsonl").read_text().splitlines()
    }
    assert not test_qs & train_qs  # one file, split into disjoint sets
