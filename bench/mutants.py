"""Plant known bugs in a copy of the package and see which tests catch each (a test suite that stays green
with a bug planted cannot catch that bug).

    python bench/mutants.py                      # every mutant against the reward-path tests
    python bench/mutants.py --only p_no --tests tests/test_serve.py

Each mutant is one exact text replacement in a copy of src/ (the replaced text must occur exactly once, so a
refactor that moves it fails loudly here instead of testing nothing); the tests run against the copy
(PYTHONPATH first, so subprocesses such as `genrm serve` load it too). Prints, per mutant, the tests that
failed; a mutant no test catches is reported as SURVIVED and the script exits 1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name: (file under src/genrm, text, replacement, what it breaks)
MUTANTS = {
    "p_no": (
        "verifiers/direct.py",
        "return p_yes / max(p_yes + p_no, 1e-12) if normalize else p_yes",
        "return p_no / max(p_yes + p_no, 1e-12) if normalize else p_no",
        "every verifier's score is p(No) instead of p(Yes)",
    ),
    "cot_min": (
        "verifiers/cot.py",
        "out.append(Result(sum(votes) / len(votes), votes, list(rs)))",
        "out.append(Result(min(votes), votes, list(rs)))",
        "GenRM-CoT's K votes reduced by min instead of the mean",
    ),
    "batch_offset": (
        "serving/batcher.py",
        "            k += len(items)\n",
        "",
        "the server's batcher hands every request in a batch the first request's results",
    ),
    "dedup_misaligned": (
        "serving/reward.py",
        "scored = dict(zip(unique, self.verifier.score(unique)))",
        "scored = dict(zip(unique, self.verifier.score(list(pairs))))",
        "identical items: scores zipped with the wrong list, so items after a duplicate get another's score",
    ),
    "no_429_retry": (
        "serving/client.py",
        "if r.status_code in (429, 503) and not last:",
        "if r.status_code == 503 and not last:",
        "the client gives up on 429 instead of waiting for room in the queue",
    ),
    "403_not_setup": (
        "serving/client.py",
        "error = SetupError if r.status_code in (401, 403, 404) else GenrmError",
        "error = SetupError if r.status_code == 401 else GenrmError",
        "403/404 become ordinary failures: the hooks train on fallback rewards instead of stopping",
    ),
    "no_isolation": (
        "serving/batcher.py",
        "            if len(batch) > 1:\n",
        "            if False:\n",
        "one failing request fails every request it shared a batch with",
    ),
    "env_fallback_ignored": (
        "integrations/guard.py",
        'float(os.environ.get("GENRM_REWARD_FALLBACK", 0.0))',
        "0.0",
        "GENRM_REWARD_FALLBACK is not read",
    ),
    "shared_prefix_sampled_tokens": (
        "engines/shared_prefix.py",
        "                    while common < min(m, len(cont)) and toks[common] == cont[common]:\n",
        "                    while common < min(m - (toks[m - 1] == eos), len(cont)):\n",
        "GenRM-CoT reads p(Yes) after the sampled tokens, not the rationale's text (the bug fixed in this change)",
    ),
}
DEFAULT_TESTS = [
    "tests/test_expected_values.py",
    "tests/test_failures.py",
    "tests/test_serve.py",
    "tests/test_integrations.py",
    "tests/test_rl_frameworks.py",
    "tests/test_reward_guard.py",
]


def plant(name: str, dest: Path) -> Path:
    file, old, new, _ = MUTANTS[name]
    src = dest / "src"
    shutil.copytree(ROOT / "src", src)
    path = src / "genrm" / file
    text = path.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"mutant {name}: the text to replace occurs {text.count(old)} times in {file}, not once")
    path.write_text(text.replace(old, new))
    return src


def run_tests(src: Path | None, tests: list[str], timeout_s: float = 900) -> tuple[list[str], str, float]:
    env = dict(os.environ, GENRM_QUIET="1")
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    start = time.time()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *tests],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return (
            ["(the tests hung: stopped after the timeout)"],
            f"timed out after {timeout_s:.0f} s",
            time.time() - start,
        )
    failed = sorted(set(re.findall(r"^(?:FAILED|ERROR) (\S+)", out.stdout, re.M)))
    summary = (out.stdout.strip().splitlines() or [""])[-1]
    return failed, summary, time.time() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", choices=sorted(MUTANTS), help="mutants to plant (default: all)")
    ap.add_argument("--tests", nargs="*", default=DEFAULT_TESTS, help="test files or ids to run")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    args = ap.parse_args()
    if not args.no_baseline:
        failed, summary, secs = run_tests(None, args.tests)
        print(f"baseline (no mutant): {summary} ({secs:.0f} s)", flush=True)
        if failed:
            print("  the unmutated code already fails:", *failed, sep="\n    ")
            return 1
    survived = []
    for name in args.only or MUTANTS:
        with tempfile.TemporaryDirectory(prefix=f"genrm-mutant-{name}-") as tmp:
            failed, summary, secs = run_tests(plant(name, Path(tmp)), args.tests)
        print(f"{name}: {MUTANTS[name][3]}\n  {summary} ({secs:.0f} s)", flush=True)
        print("  caught by:", *(failed or ["nothing: SURVIVED"]), sep="\n    ", flush=True)
        if not failed:
            survived.append(name)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
