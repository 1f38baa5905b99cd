"""genrm: generative verifiers (GenRM, GenRM-CoT) as next-token prediction, and their baselines."""

__version__ = "0.1.0"
