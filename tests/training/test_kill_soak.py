"""Kill -9 soak test of training: SIGKILL ``python -m sketch2color.train`` at many points, rerun.

One tiny run (embedded data, 32 px, 5 epochs x 10 steps, a checkpoint every 3 steps) is started
again and again with the same command; each start is killed with SIGKILL at a point chosen by a
seeded RNG from a plan:

- ``during_write``: as soon as a ``ckpt-N_temp/`` write begins (TensorFlow writes the data file
  there, then renames it and writes ``ckpt-N.index``);
- ``during_epoch_end_write``: the same, for the write of an epoch-end checkpoint;
- ``new_index``: as soon as a new ``ckpt-N.index`` appears: TensorFlow writes it in place, so
  this may be mid-write (the next start must then skip it), and is before the state file and
  the sweep of old checkpoints;
- ``after_row``: as soon as a new ``history.csv`` row appears, before that epoch's checkpoint;
- ``random``: after a random delay (a share of the measured start-up time, so it lands in
  imports, restore or training alike), or at the second new checkpoint, whichever is first.

Once, after the first ``new_index`` (or ``random``) kill whose start finished the newest
checkpoint with a readable one before it, that checkpoint's data file is also cut in half (a
torn write, as a crash of the machine would leave), so the fallback to the previous checkpoint
and its one-line warning are surely exercised through the CLI.

After each kill the run folder is inspected and the next start is checked:

- it resumes (``resuming from .../ckpt-N (step N)``) from the newest readable checkpoint, with
  no traceback; every newer checkpoint it skipped is named in a one-line warning;
- it loses at most one checkpoint interval: both the newest ``ckpt-N.index`` before the kill and
  the furthest step the killed process was seen to reach (a write it began, a history row it
  wrote) are at most ``CHECKPOINT_EVERY`` steps past the step it resumes from;
- ``history.csv`` holds epochs 0..n-1 once each, n covering the epochs the checkpoints finished.

The final, uninterrupted start must exit 0 at the last step with one history row per epoch.
The test reads the checkpoint folder itself (the same ``ckpt-N.index`` rule as
``runs.checkpoint_prefixes``) so it neither trusts the code under test nor imports TensorFlow.
Figures are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import csv
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SEED = 20250611
IMAGE_SIZE = 32
EPOCHS = 5
STEPS_PER_EPOCH = 10
CHECKPOINT_EVERY = 3  # does not divide the epoch: gaps of 3 and 1 steps around epoch ends
KEEP = 3
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH
KILL_PLAN = [
    "during_write",
    "during_write",
    "during_epoch_end_write",
    "new_index",
    "new_index",
    "after_row",
    "random",
    "random",
]
START_TIMEOUT = 120.0  # seconds a start may take to reach its kill point
FINAL_TIMEOUT = 300.0
POLL = 0.004

INDEX = re.compile(r"ckpt-(\d+)\.index")
TEMP = re.compile(r"ckpt-(\d+)_temp")
RESUMED = re.compile(r"^resuming from (\S*ckpt-(\d+)) \(step (\d+)\)$", re.MULTILINE)
SKIPPED = re.compile(r"ckpt-(\d+): unreadable checkpoint, skipped")
SKIPPED_LINE = re.compile(r"^\S*ckpt-\d+: unreadable checkpoint, skipped \(.+\)$")


# --------------------------------------------------------------------------- the run folder


def train_command(run_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sketch2color.train",
        "--embedded-train",
        "4",
        "--embedded-val",
        "1",
        "--image-size",
        str(IMAGE_SIZE),
        "--batch-size",
        "1",
        "--epochs",
        str(EPOCHS),
        "--steps-per-epoch",
        str(STEPS_PER_EPOCH),
        "--checkpoint-every",
        str(CHECKPOINT_EVERY),
        "--keep-checkpoints",
        str(KEEP),
        "--val-fraction",
        "0",
        "--validation-steps",
        "1",
        "--preview-samples",
        "1",
        "--metrics-images",
        "0",
        "--fid-every",
        "0",
        "--bn-recalibration-batches",
        "0",
        "--no-export",
        "--seed",
        "1",
        "--run-dir",
        str(run_dir),
    ]


def scan(folder: Path) -> tuple[dict[int, tuple[int, int]], dict[int, frozenset[str]]]:
    """({step: identity of ckpt-N.index}, {step: entries of ckpt-N_temp/}) of a checkpoint folder.

    An index's identity (inode, mtime) changes when TensorFlow writes that step again.
    """
    indexes: dict[int, tuple[int, int]] = {}
    temps: dict[int, frozenset[str]] = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return indexes, temps
    for entry in entries:
        if match := INDEX.fullmatch(entry.name):
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue
            indexes[int(match.group(1))] = (stat.st_ino, stat.st_mtime_ns)
        elif match := TEMP.fullmatch(entry.name):
            try:
                temps[int(match.group(1))] = frozenset(child.name for child in os.scandir(entry.path))
            except (FileNotFoundError, NotADirectoryError):
                temps[int(match.group(1))] = frozenset()
    return indexes, temps


def history_epochs(path: Path) -> list[int]:
    """The epoch column of history.csv (a last line cut mid-write is left out)."""
    if not path.is_file():
        return []
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        return []
    column = rows[0].index("epoch")
    return [int(row[column]) for row in rows[1:]]


def history_rows(path: Path) -> int:
    """Complete data lines in history.csv (cheap enough to poll)."""
    try:
        return max(0, path.read_bytes().count(b"\n") - 1)
    except FileNotFoundError:
        return 0


def state_file_names(folder: Path, step: int) -> bool:
    """Whether TensorFlow's ``checkpoint`` state file already names ckpt-<step> as the latest."""
    try:
        return f'model_checkpoint_path: "ckpt-{step}"' in (folder / "checkpoint").read_text()
    except FileNotFoundError:
        return False


# --------------------------------------------------------------------------- one start


@dataclass
class Start:
    """One start of the training command and what was seen of it."""

    number: int
    kind: str | None  # the kill point; None: the final, uninterrupted start
    indexes_at_spawn: dict[int, tuple[int, int]]
    unreadable_at_spawn: set[int]  # steps whose checkpoint is known unreadable at spawn
    rows_at_spawn: int
    returncode: int = 0
    seconds: float = 0.0
    first_write_after: float | None = None  # seconds from spawn to its first checkpoint write
    write_steps: list[int] = field(default_factory=list)  # checkpoint writes it began
    index_steps: list[int] = field(default_factory=list)  # new ckpt-N.index files it wrote
    killed_at: str = ""
    stdout: str = ""
    stderr: str = ""

    def describe(self) -> str:
        return (
            f"start {self.number} (kill point {self.kind}, killed {self.killed_at or 'no'}), "
            f"exit {self.returncode} after {self.seconds:.1f}s\n--- stdout\n{self.stdout[-2500:]}\n"
            f"--- stderr\n{self.stderr[-4000:]}"
        )

    def resumed_step(self) -> int | None:
        matches = RESUMED.findall(self.stderr)
        assert len(matches) <= 1, self.describe()
        if not matches:
            return None
        _, numbered, step = matches[0]
        assert numbered == step, f"resumed from ckpt-{numbered} but says step {step}\n{self.describe()}"
        return int(step)


def run_start(
    number: int,
    kind: str | None,
    workdir: Path,
    run_dir: Path,
    env: dict[str, str],
    rng: random.Random,
    startup_estimate: float,
    unreadable: set[tuple[int, tuple[int, int]]],
) -> Start:
    """Start the command and SIGKILL it at the ``kind`` point (None: let it finish)."""
    checkpoints, history = run_dir / "checkpoints", run_dir / "history.csv"
    indexes0, temps0 = scan(checkpoints)
    start = Start(
        number,
        kind,
        indexes0,
        {step for step, identity in indexes0.items() if (step, identity) in unreadable},
        history_rows(history),
    )
    delay = rng.uniform(0.15, 1.3) * startup_estimate if kind == "random" else math.inf
    timeout = START_TIMEOUT if kind is not None else FINAL_TIMEOUT
    rows_low = start.rows_at_spawn  # a resumed start may first trim the row of the epoch it redoes
    out_path, err_path = workdir / f"start{number:02d}.out", workdir / f"start{number:02d}.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        began = time.monotonic()
        process = subprocess.Popen(train_command(run_dir), cwd=workdir, env=env, stdout=out, stderr=err)
        try:
            while process.poll() is None:
                elapsed = time.monotonic() - began
                indexes, temps = scan(checkpoints)
                writing = [
                    step for step, names in temps.items() if step not in temps0 or names - temps0[step]
                ]
                finished = [step for step, identity in indexes.items() if indexes0.get(step) != identity]
                for step in writing:
                    if step not in start.write_steps:
                        start.write_steps.append(step)
                for step in finished:
                    if step not in start.index_steps:
                        start.index_steps.append(step)
                if (writing or finished) and start.first_write_after is None:
                    start.first_write_after = elapsed
                fire = ""
                if kind == "during_write" and writing:
                    fire = f"writing ckpt-{max(writing)}"
                elif kind == "during_epoch_end_write" and any(s % STEPS_PER_EPOCH == 0 for s in writing):
                    fire = f"writing epoch-end ckpt-{max(writing)}"
                elif kind == "new_index" and finished:
                    fire = f"ckpt-{max(finished)}.index appeared"
                elif kind == "after_row":
                    rows = history_rows(history)
                    rows_low = min(rows_low, rows)
                    if rows > rows_low:
                        fire = f"history row {rows} written"
                elif kind == "random" and (elapsed >= delay or len(start.index_steps) >= 2):
                    fire = f"random, {elapsed:.2f}s of {delay:.2f}s (checkpoints done: {start.index_steps})"
                if fire:
                    process.kill()
                    start.killed_at = f"{fire} at {elapsed:.2f}s"
                    break
                if elapsed > timeout:
                    process.kill()
                    start.killed_at = "timeout"
                    break
                time.sleep(POLL)
            start.returncode = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        start.seconds = time.monotonic() - began
    start.stdout, start.stderr = out_path.read_text(), err_path.read_text()
    return start


# --------------------------------------------------------------------------- the soak


@dataclass
class Tally:
    """What the soak saw, across its starts."""

    kills: list[dict] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)  # kills the next resuming start measures
    resumes: int = 0
    fresh_starts: int = 0
    startups: list[float] = field(default_factory=list)  # seconds from spawn to a first write
    # Checkpoint versions (step, index identity) known unreadable: torn by the test, or skipped
    # by a start (e.g. a kill in the middle of writing the index).
    unreadable: set[tuple[int, tuple[int, int]]] = field(default_factory=set)
    torn: set[tuple[int, tuple[int, int]]] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)  # the starts' "unreadable checkpoint" lines
    mid_write: int = 0  # kills that left a checkpoint write unfinished
    index_before_state_file: int = 0  # new_index kills before the state file named the index
    new_index_versions: list[tuple[int, tuple[int, int]]] = field(default_factory=list)

    def check_start(self, start: Start) -> None:
        """The start resumed from the newest readable checkpoint; measure the pending kills."""
        assert "Traceback" not in start.stderr, start.describe()
        lines = [line for line in start.stderr.splitlines() if SKIPPED.search(line)]
        for line in lines:
            assert SKIPPED_LINE.fullmatch(line), f"not a one-line warning: {line!r}\n{start.describe()}"
        skipped = sorted(int(SKIPPED.search(line).group(1)) for line in lines)
        self.warnings.extend(lines)
        resumed = start.resumed_step()
        at_spawn = sorted(start.indexes_at_spawn, reverse=True)
        if resumed is None:
            if start.write_steps or start.index_steps or re.search(r"^Epoch \d", start.stdout, re.M):
                # It trained: it must have started from step 0 because nothing was there.
                assert not at_spawn, f"trained without resuming from {at_spawn}\n" + start.describe()
                resumed = 0
                self.fresh_starts += 1
            else:
                return  # killed before it got to the restore: the pending kills carry over
        else:
            self.resumes += 1
            assert resumed in start.indexes_at_spawn, start.describe()
            newer = [step for step in at_spawn if step > resumed]
            # Every newer checkpoint was skipped with its warning (the known unreadable ones too).
            assert skipped == sorted(newer), (
                f"resumed from step {resumed} with newer checkpoints {newer} but warnings for {skipped}\n"
                + start.describe()
            )
            assert start.unreadable_at_spawn <= set(newer), (
                f"resumed from {resumed}: a torn checkpoint {start.unreadable_at_spawn} was used\n"
                + start.describe()
            )
            self.unreadable.update((step, start.indexes_at_spawn[step]) for step in newer)
        # Kills since the last measured start had no training in between: measured together.
        newest = max(at_spawn, default=0)
        reached = max((kill["reached"] for kill in self.pending), default=0)
        for kill in self.pending:
            kill.update(resumed=resumed, lost_vs_newest=newest - resumed, lost_vs_reached=reached - resumed)
        self.pending.clear()

    def print_figures(self, history: Path, checkpoints: Path, seconds: float) -> None:
        """The soak's figures (shown by ``pytest -s``), printed before the final assertions."""
        measured = [kill for kill in self.kills if "resumed" in kill]
        lost_newest = [kill["lost_vs_newest"] for kill in measured] or [math.nan]
        lost_reached = [kill["lost_vs_reached"] for kill in measured] or [math.nan]
        indexes, temps = scan(checkpoints)
        leftover = sum(
            f.stat().st_size for step in temps for f in (checkpoints / f"ckpt-{step}_temp").iterdir()
        )
        print(
            f"\nkill -9 soak: seed {SEED}, {EPOCHS} epochs x {STEPS_PER_EPOCH} steps, checkpoint every "
            f"{CHECKPOINT_EVERY} steps, keep {KEEP}"
        )
        for kill in self.kills:
            print(
                f"  kill {kill['number']}: reached step {kill['reached']:>2}, newest index "
                f"{kill['newest']:>2}, resumed at {kill.get('resumed', '?'):>2} | "
                f"{kill['kind']}: {kill['at']}"
            )
        print(
            f"  kills: {len(self.kills)}; starts: {len(self.kills) + 1}; resumes: {self.resumes}; "
            f"fresh starts: {self.fresh_starts}"
        )
        for what, lost in (("newest checkpoint", lost_newest), ("step reached", lost_reached)):
            print(f"  steps lost vs {what:<17}: max {max(lost)}, median {statistics.median(lost)}")
        hit_mid_index = len(set(self.new_index_versions) & (self.unreadable - self.torn))
        print(
            f"  kills inside a checkpoint data write: {self.mid_write}; at a new index: "
            f"{len(self.new_index_versions)} ({hit_mid_index} left it unreadable, "
            f"{self.index_before_state_file} before the state file named it)"
        )
        print(
            f"  corrupt checkpoints skipped: {len(self.unreadable)} ({len(self.torn)} torn by the test, "
            f"{len(self.unreadable - self.torn)} by a kill); {len(self.warnings)} one-line warning(s) "
            "in the starts' stderr"
        )
        print(
            f"  finished run: history epochs {history_epochs(history)}; checkpoints on disk "
            f"{sorted(indexes)} (keep {KEEP}); leftover {[f'ckpt-{step}_temp' for step in sorted(temps)]} "
            f"({leftover} bytes)"
        )
        startup = statistics.median(self.startups) if self.startups else math.nan
        print(f"  start-up to first checkpoint write: median {startup:.1f}s; soak wall time {seconds:.0f}s")


@pytest.mark.slow
def test_sigkill_at_any_point_loses_at_most_one_interval_and_no_history_row(tmp_path):
    began = time.monotonic()
    rng = random.Random(SEED)
    plan = list(KILL_PLAN)
    rng.shuffle(plan)
    run_dir = tmp_path / "run"
    checkpoints, history = run_dir / "checkpoints", run_dir / "history.csv"
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        SKETCH2COLOR_CACHE=str(tmp_path / "cache"),
        CUDA_VISIBLE_DEVICES="-1",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(REPO),
    )
    tally = Tally()

    for number, kind in enumerate(plan):
        estimate = statistics.median(tally.startups) if tally.startups else 8.0
        start = run_start(number, kind, tmp_path, run_dir, env, rng, estimate, tally.unreadable)
        if start.first_write_after is not None:
            tally.startups.append(start.first_write_after)
        assert start.killed_at != "timeout", "no kill point within the time limit\n" + start.describe()
        assert start.killed_at and start.returncode == -9, (
            "the start ended by itself before its kill point\n" + start.describe()
        )
        tally.check_start(start)

        # The folder the kill left behind.
        indexes, temps = scan(checkpoints)
        epochs = history_epochs(history)
        reached = max([*indexes, *start.write_steps, 0])
        if kind == "after_row":  # it wrote the row of an epoch, so it finished that epoch
            reached = max(reached, len(epochs) * STEPS_PER_EPOCH)
        if kind.startswith("during") and start.write_steps:
            step = max(start.write_steps)
            tally.mid_write += step in temps and indexes.get(step) == start.indexes_at_spawn.get(step)
        if kind == "new_index":
            step = max(start.index_steps)
            tally.index_before_state_file += not state_file_names(checkpoints, step)
            if step in indexes:
                tally.new_index_versions.append((step, indexes[step]))
        # Tear the newest checkpoint once: one this start finished, with no later write begun
        # (so the fallback still loses at most one interval) and a readable one before it.
        newest = max(indexes, default=0)
        older = [s for s, identity in indexes.items() if s < newest and (s, identity) not in tally.unreadable]
        note = ""
        if (
            not tally.torn
            and kind in ("new_index", "random")
            and newest in start.index_steps
            and max(start.write_steps, default=0) <= newest
            and older
        ):
            data = sorted(checkpoints.glob(f"ckpt-{newest}.data-*"))
            assert data, f"ckpt-{newest} has no data file"
            os.truncate(data[0], data[0].stat().st_size // 2)
            tally.torn.add((newest, indexes[newest]))
            tally.unreadable.add((newest, indexes[newest]))
            note = f"; ckpt-{newest} data torn by the test"
        readable = [step for step, identity in indexes.items() if (step, identity) not in tally.unreadable]
        newest_readable = max(readable, default=0)
        assert epochs == list(range(len(epochs))), (
            f"after kill {number}: history epochs {epochs}\n" + start.describe()
        )
        done = newest_readable // STEPS_PER_EPOCH
        assert done <= len(epochs) <= done + 1, (
            f"after kill {number}: {len(epochs)} history rows, newest readable checkpoint "
            f"step {newest_readable} ({done} epochs done)\n" + start.describe()
        )
        kill = dict(number=number, kind=kind, at=start.killed_at + note, reached=reached, newest=newest)
        tally.kills.append(kill)
        tally.pending.append(kill)

    final = run_start(len(plan), None, tmp_path, run_dir, env, rng, 0.0, tally.unreadable)
    if final.returncode == 0:
        tally.check_start(final)
    tally.print_figures(history, checkpoints, time.monotonic() - began)

    # The final start: resumed, finished at the last step, exit 0.
    assert final.returncode == 0, final.describe()
    assert final.resumed_step() is not None, "the final start did not resume\n" + final.describe()
    assert f"(epoch {EPOCHS}, step {TOTAL_STEPS})" in final.stdout, final.describe()
    indexes, temps = scan(checkpoints)
    assert max(indexes) == TOTAL_STEPS, sorted(indexes)
    # Nothing left behind by the kills: no checkpoint beyond --keep-checkpoints, no temporary shards.
    assert len(indexes) == KEEP, f"{sorted(indexes)} on disk with keep {KEEP}"
    assert not temps, f"leftover temporary folders: {sorted(temps)}"

    # Exactly one history row per epoch, in order, with finite losses.
    with open(history, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in rows] == list(range(EPOCHS)), [row["epoch"] for row in rows]
    for row in rows:
        assert all(
            math.isfinite(float(row[key])) for key in ("gen_total_loss", "gen_l1_loss", "disc_loss")
        ), row

    # Each kill: a later start resumed, with at most one checkpoint interval lost.
    unmeasured = [kill for kill in tally.kills if "resumed" not in kill]
    assert not unmeasured, f"kills no later start resumed after: {unmeasured}"
    for kill in tally.kills:
        what = (
            f"kill {kill['number']} ({kill['kind']}: {kill['at']}): newest checkpoint step {kill['newest']}, "
            f"step reached {kill['reached']}, resumed at {kill['resumed']}"
        )
        assert 0 <= kill["lost_vs_newest"] <= CHECKPOINT_EVERY, f"{what}: more than one interval lost"
        assert 0 <= kill["lost_vs_reached"] <= CHECKPOINT_EVERY, f"{what}: more than one interval lost"

    # The kill points were really hit, and the torn checkpoint was skipped with its warning.
    assert tally.mid_write >= 1, "no kill landed inside a checkpoint write"
    assert tally.torn, "no kill left a finished checkpoint with a readable one before it to tear"
    ((torn_step, _),) = tally.torn
    assert any(f"ckpt-{torn_step}:" in line for line in tally.warnings), (
        f"no warning named the torn ckpt-{torn_step}: {tally.warnings}"
    )
