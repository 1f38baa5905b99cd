"""genrm: generative verifiers (GenRM, GenRM-CoT) as next-token prediction, and their baselines.

The public API, one name per stage:

    tasks        get_task, register_task, LastLetter, WordSort, GSM8K, MathTask, JsonlTask
    model        build_tiny_model, char_tokenizer, load_model, merge_lora
    engines      make_engine, TransformersEngine, OpenAIEngine (genrm.engines.openai), VLLMEngine (.vllm)
    candidates   sample_candidates, label_candidates, load_candidates
    data         build_verifier_rows, VerifyFormat, teacher_rationales, import_release
    training     train_lm, train_orm, TrainConfig
    verifiers    ORMVerifier, GenRMVerifier, CoTVerifier
    selection    best_of_n, pass_at_n, vote_at_n, auroc, evaluate
    rewards      RewardModel, load_reward_model (genrm.serve: the HTTP server; genrm.client:
                 RemoteRewardModel; genrm.integrations: TRL, verl and OpenRLHF hooks)
    runs         RunConfig, preset_config, Run, run_all
"""

__version__ = "0.1.0"

from .candidates import label_candidates, load_candidates, sample_candidates
from .config import RunConfig, preset_config
from .engines import TransformersEngine, make_engine
from .errors import GenrmError
from .evaluate import evaluate
from .formats import VerifyFormat
from .metrics import auroc, best_of_n, pass_at_n, vote_at_n
from .model import build_tiny_model, char_tokenizer, load_model, merge_lora
from .pipeline import Run, run_all
from .released import import_release
from .reward import RewardModel, load_reward_model
from .tasks import GSM8K, JsonlTask, LastLetter, MathTask, WordSort, get_task, register_task
from .teacher import teacher_rationales
from .training import TrainConfig, train_lm, train_orm
from .types import Candidate, Engine, Problem, Score, Task
from .verifier_data import build_verifier_rows
from .verifiers import CoTVerifier, GenRMVerifier, ORMVerifier

__all__ = [
    "Candidate",
    "CoTVerifier",
    "Engine",
    "GenRMVerifier",
    "GSM8K",
    "JsonlTask",
    "MathTask",
    "GenrmError",
    "LastLetter",
    "ORMVerifier",
    "Problem",
    "RewardModel",
    "Run",
    "RunConfig",
    "Score",
    "Task",
    "TrainConfig",
    "TransformersEngine",
    "VerifyFormat",
    "WordSort",
    "auroc",
    "best_of_n",
    "build_tiny_model",
    "build_verifier_rows",
    "char_tokenizer",
    "evaluate",
    "get_task",
    "import_release",
    "make_engine",
    "merge_lora",
    "teacher_rationales",
    "label_candidates",
    "load_candidates",
    "load_model",
    "load_reward_model",
    "pass_at_n",
    "preset_config",
    "register_task",
    "run_all",
    "sample_candidates",
    "train_lm",
    "train_orm",
    "vote_at_n",
]
