"""Layer 3, models: the built-in causal LM and how any causal LM is loaded, fine-tuned and saved.

Owns building and loading models and tokenizers (`model`: the tiny Llama, Hub ids, local folders, LoRA,
GGUF), the training loops of every trained verifier and the generator (`training`: language-model SFT, the
ORM's classification head, DPO; `trackers`: TensorBoard, W&B, MLflow) and tiny random Hugging Face models for
tests (`testing`).
Imports: core.
"""
