"""genrm: generative verifiers (GenRM, GenRM-CoT) as next-token prediction, and their baselines.

The public API, one name per stage:

    tasks        get_task, register_task, LastLetter, WordSort, GSM8K, MathTask, JsonlTask
    model        build_tiny_model, char_tokenizer, load_model, merge_lora
    engines      make_engine, register_engine, TransformersEngine, OpenAIEngine (genrm.engines.openai),
                 VLLMEngine (.vllm)
    candidates   sample_candidates, label_candidates, load_candidates
    data         build_verifier_rows, VerifyFormat, teacher_rationales, import_release
    training     train_lm, train_orm, TrainConfig
    verifiers    Verifier (protocol), Result, build_verifier, ORMVerifier, GenRMVerifier, CoTVerifier
    selection    best_of_n, pass_at_n, vote_at_n, auroc, evaluate
    reports      write_report (report.html), account (tokens and FLOPs per method)
    rewards      RewardModel, load_reward_model (genrm.serve: the HTTP server; genrm.client:
                 RemoteRewardModel; genrm.integrations: TRL, verl and OpenRLHF hooks)
    runs         RunConfig, preset_config, Run, run_all, ServeLimits
"""

__version__ = "0.1.0"

# name -> submodule: imported on first use (PEP 562), so `import genrm.client` or the OpenAI-HTTP engine
# does not load torch and Transformers
_EXPORTS = {
    "label_candidates": "candidates",
    "load_candidates": "candidates",
    "sample_candidates": "candidates",
    "RunConfig": "config",
    "preset_config": "config",
    "TransformersEngine": "engines",
    "make_engine": "engines",
    "register_engine": "engines",
    "GenrmError": "errors",
    "evaluate": "evaluate",
    "VerifyFormat": "formats",
    "auroc": "metrics",
    "best_of_n": "metrics",
    "pass_at_n": "metrics",
    "vote_at_n": "metrics",
    "build_tiny_model": "model",
    "char_tokenizer": "model",
    "load_model": "model",
    "merge_lora": "model",
    "Run": "pipeline",
    "run_all": "pipeline",
    "import_release": "released",
    "RewardModel": "reward",
    "load_reward_model": "reward",
    "GSM8K": "tasks",
    "JsonlTask": "tasks",
    "LastLetter": "tasks",
    "MathTask": "tasks",
    "WordSort": "tasks",
    "get_task": "tasks",
    "register_task": "tasks",
    "teacher_rationales": "teacher",
    "TrainConfig": "config",
    "train_lm": "training",
    "train_orm": "training",
    "Candidate": "types",
    "Engine": "types",
    "Problem": "types",
    "Result": "types",
    "Verifier": "types",
    "Score": "types",
    "Task": "types",
    "build_verifier_rows": "verifier_data",
    "CoTVerifier": "verifiers",
    "GenRMVerifier": "verifiers",
    "ORMVerifier": "verifiers",
    "build_verifier": "verifiers",
    "write_report": "report_html",
    "account": "compute",
    "ServeLimits": "config",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genrm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
