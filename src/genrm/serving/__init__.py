"""Layer 10, serving: a verifier as a reward.

Owns the in-process reward model (`reward`: RewardModel, load_reward_model, reward modes), the HTTP reward
server (`server`, with its dynamic batcher `batcher` and request schemas `api`) and its client
(`client`: RemoteRewardModel, torch-free).
Imports: every layer up to pipeline (a run folder's verifiers are found through it).
"""
