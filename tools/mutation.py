"""Mutation testing of one module, with mutmut's mutation engine and a loop of ours.

    pip install 'mutmut==2.5.1'
    python tools/mutation.py COPY resilient_cloud/_core/machine.py results.json \\
        "tests/unit/test_call_core.py" "tests/unit" ["tests/drivers tests/aio"]

COPY is a copy of the tree (the module is mutated in place there: never point it at your
checkout). Each stage is a space-separated list of pytest arguments; a stage runs only for the
mutants the stages before it left alive, and a mutant counts as killed when any stage's tests
fail (or time out: four times the stage's baseline). Results go to results.json as they come
(a rerun resumes); each line printed is a mutant, its status and its diff.

Environment: SHARD=i/n runs every n-th mutant (one copy per shard); ONLY=file.json runs only
the mutants whose diff is in that list (e.g. the survivors of an earlier run, after the tests
changed). mutmut's own runner is not used: its pony cache crashed on machine.py
("Mutant.line is required").
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mutmut import Context, list_mutations, mutate

signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally: restore the module


def main() -> None:
    repo, target, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    stages = [stage.split() for stage in sys.argv[4:]]
    path = repo / target
    source = path.read_text()
    ids = list_mutations(Context(source=source, filename=str(path)))
    results = json.loads(out.read_text()) if out.exists() else {}
    only = json.loads(Path(os.environ["ONLY"]).read_text()) if os.environ.get("ONLY") else None
    shard, shards = (int(x) for x in os.environ.get("SHARD", "0/1").split("/"))
    env = dict(os.environ, PYTHONPATH=str(repo), PYTHONDONTWRITEBYTECODE="1")

    def run(tests: list[str], timeout: float) -> str:
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                cwd=repo, env=env, capture_output=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return "timeout"
        return "killed" if completed.returncode != 0 else "survived"

    baselines = []
    for tests in stages:
        started = time.time()
        assert run(tests, 900) == "survived", f"the tests fail without a mutant: {tests}"
        baselines.append(time.time() - started)
    print("baseline", baselines, "mutants", len(ids), flush=True)
    try:
        for number, mutation_id in enumerate(ids):
            if number % shards != shard:
                continue
            key = f"{mutation_id.line_number}:{mutation_id.index}"
            if key in results and results[key]["status"] != "survived":
                continue
            mutated, count = mutate(Context(source=source, mutation_id=mutation_id, filename=str(path)))
            if count == 0:
                continue
            diff = [f"- {a}\n+ {b}" for a, b in zip(source.splitlines(), mutated.splitlines()) if a != b]
            if only is not None and diff not in only:
                continue
            done = results.get(key, {}).get("stages", 0)
            path.write_text(mutated)
            status = "survived"
            for index, tests in enumerate(stages):
                if index < done:
                    continue
                status = run(tests, max(30.0, baselines[index] * 4))
                done = index + 1
                if status != "survived":
                    break
            path.write_text(source)
            results[key] = {"n": number, "line": mutation_id.line_number + 1, "status": status,
                            "stages": done, "diff": diff}
            out.write_text(json.dumps(results, indent=1))
            print(number, key, status, diff, flush=True)
    finally:
        path.write_text(source)
    counts: dict[str, int] = {}
    for result in results.values():
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    print("DONE", len(ids), counts, flush=True)


if __name__ == "__main__":
    main()
