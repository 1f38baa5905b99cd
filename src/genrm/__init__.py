"""genrm: generative verifiers (GenRM, GenRM-CoT) as next-token prediction, and their baselines.

The public API, one name per stage (every name below is importable from `genrm` itself):

    tasks        get_task, register_task, LastLetter, WordSort, GSM8K, MathTask, JsonlTask
    models       build_tiny_model, char_tokenizer, load_model, merge_lora, train_lm, train_orm, TrainConfig
    engines      make_engine, register_engine, TransformersEngine, OpenAIEngine (genrm.engines.openai),
                 VLLMEngine (.vllm)
    data         sample_candidates, label_candidates, load_candidates, build_verifier_rows, VerifyFormat,
                 teacher_rationales, import_release
    verifiers    Verifier (protocol), Result, build_verifier, ORMVerifier, GenRMVerifier, CoTVerifier
    analysis     best_of_n, pass_at_n, vote_at_n, auroc, evaluate, account (tokens and FLOPs per method)
    report       write_report (report.html)
    pipeline     RunConfig, preset_config, Run, run_all
    serving      RewardModel, load_reward_model, ServeLimits (genrm.serving.server: the HTTP server;
                 genrm.serving.client: RemoteRewardModel; genrm.integrations: TRL, verl and OpenRLHF hooks)

The packages are layers (docs/architecture.md): core, tasks, models, engines, data, verifiers, analysis,
report, pipeline, serving, integrations, sweep, cli; a module imports only from its own layer and the ones
before it (tests/test_layers.py). Module paths from before the re-layout (`genrm.reward`, `genrm.serve`,
`genrm.config`, ...) still import: they are aliases of the modules that own the code now (`_MOVED` below).
"""

import importlib as _importlib
import importlib.abc as _abc
import importlib.util as _util
import sys as _sys
import types as _types

__version__ = "0.1.0"

# name -> submodule: imported on first use (PEP 562), so `import genrm.client` or the OpenAI-HTTP engine
# does not load torch and Transformers
_EXPORTS = {
    "label_candidates": "data.candidates",
    "load_candidates": "data.candidates",
    "sample_candidates": "data.candidates",
    "RunConfig": "core.config",
    "preset_config": "core.config",
    "TransformersEngine": "engines",
    "make_engine": "engines",
    "register_engine": "engines",
    "GenrmError": "core.errors",
    "evaluate": "analysis.evaluate",
    "VerifyFormat": "core.formats",
    "auroc": "analysis.metrics",
    "best_of_n": "analysis.metrics",
    "pass_at_n": "analysis.metrics",
    "vote_at_n": "analysis.metrics",
    "build_tiny_model": "models.model",
    "char_tokenizer": "models.model",
    "load_model": "models.model",
    "merge_lora": "models.model",
    "Run": "pipeline",
    "run_all": "pipeline",
    "import_release": "data.released",
    "RewardModel": "serving.reward",
    "load_reward_model": "serving.reward",
    "GSM8K": "tasks",
    "JsonlTask": "tasks",
    "LastLetter": "tasks",
    "MathTask": "tasks",
    "WordSort": "tasks",
    "get_task": "tasks",
    "register_task": "tasks",
    "teacher_rationales": "data.teacher",
    "TrainConfig": "core.train_config",
    "train_lm": "models.training",
    "train_orm": "models.training",
    "Candidate": "core.types",
    "Engine": "core.types",
    "Problem": "core.types",
    "Result": "core.types",
    "Verifier": "core.types",
    "Score": "core.types",
    "Task": "core.types",
    "build_verifier_rows": "data.verifier_data",
    "CoTVerifier": "verifiers",
    "GenRMVerifier": "verifiers",
    "ORMVerifier": "verifiers",
    "build_verifier": "verifiers",
    "write_report": "report.html",
    "account": "analysis.compute",
    "ServeLimits": "core.config",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genrm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)


# module paths of genrm 0.1 before the re-layout -> the module that owns the code now; `import genrm.reward`
# gives the very module object `genrm.serving.reward` (so monkeypatching either patches both). A module that was
# split maps to its parts: the old path is then a module holding the public names of all of them (a copy:
# monkeypatch the new modules).
_MOVED: dict[str, str | tuple[str, ...]] = {
    "genrm.batching": "genrm.core.batching",
    "genrm.candidates": "genrm.data.candidates",
    "genrm.card": "genrm.report.card",
    "genrm.client": "genrm.serving.client",
    "genrm.compute": "genrm.analysis.compute",
    "genrm.config": ("genrm.core.config", "genrm.core.train_config"),
    "genrm.device": "genrm.core.device",
    "genrm.errors": "genrm.core.errors",
    "genrm.evaluate": "genrm.analysis.evaluate",
    "genrm.formats": "genrm.core.formats",
    "genrm.io": "genrm.core.io",
    "genrm.metrics": "genrm.analysis.metrics",
    "genrm.model": "genrm.models.model",
    "genrm.pretrain": ("genrm.pipeline.pretrain", "genrm.pipeline.corpus", "genrm.core.train_config"),
    "genrm.progress": "genrm.core.progress",
    "genrm.released": "genrm.data.released",
    "genrm.report_html": ("genrm.report.html", "genrm.report.charts", "genrm.report.assets"),
    "genrm.reward": ("genrm.serving.reward", "genrm.core.config"),
    "genrm.schemas": "genrm.core.schemas",
    "genrm.serve": ("genrm.serving.server", "genrm.serving.api", "genrm.serving.batcher"),
    "genrm.steps": "genrm.analysis.steps",
    "genrm.sweep_results": "genrm.sweep.results",
    "genrm.teacher": "genrm.data.teacher",
    "genrm.testing": "genrm.models.testing",
    "genrm.training": "genrm.models.training",
    "genrm.types": "genrm.core.types",
    "genrm.verifier_data": "genrm.data.verifier_data",
}


class _MovedModules(_abc.MetaPathFinder, _abc.Loader):
    """Import hook for the old module paths in `_MOVED` (a meta path finder and its loader)."""

    def find_spec(self, fullname, path=None, target=None):
        return _util.spec_from_loader(fullname, self) if fullname in _MOVED else None

    def create_module(self, spec):
        target = _MOVED[spec.name]
        if isinstance(target, str):
            return _importlib.import_module(target)
        merged = _types.ModuleType(spec.name, f"genrm 0.1's {spec.name}, now {', '.join(target)}")
        for part in reversed(target):  # the first part wins a name they share
            merged.__dict__.update({k: v for k, v in vars(_importlib.import_module(part)).items() if k[:1] != "_"})
        return merged

    def exec_module(self, module) -> None:
        pass


if not any(isinstance(f, _MovedModules) for f in _sys.meta_path):
    _sys.meta_path.append(_MovedModules())
