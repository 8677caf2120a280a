#!/usr/bin/env python
"""Download the Kaggle "Anime Sketch Colorization Pair" dataset (ktaebum, about 14k pairs).

    python data_scripts/download_kaggle.py [--dest DIR] [--method auto|kagglehub|cli]

Uses kagglehub (``pip install kagglehub``, or ``pip install -e .[kaggle]``) when it is installed,
else the ``kaggle`` command-line tool. Both need a Kaggle API token: the script checks for one
before touching the network and says how to get one if there is none. When the download is
done it prints the folder to train on::

    python -m sketch2color.train --data <folder with train/ and val/>

Exit codes: 0 done, 2 nothing downloaded (no tool, no credentials, no network, refused).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

DATASET = "ktaebum/anime-sketch-colorization-pair"
DEFAULT_CLI_DEST = Path("anime-sketch-colorization-pair")

CREDENTIALS_HELP = """\
error: no Kaggle API credentials found.
Kaggle needs an API token to download datasets. To get one:
  1. sign in at https://www.kaggle.com (a free account is enough),
  2. open https://www.kaggle.com/settings , section "API", and create a new token,
  3. store it where Kaggle's tools look for it, one of:
       - a token string:  mkdir -p ~/.kaggle && echo <token> > ~/.kaggle/access_token
                          && chmod 600 ~/.kaggle/access_token   (or: export KAGGLE_API_TOKEN=<token>)
       - a kaggle.json file (legacy "Create New Token" button):
                          mkdir -p ~/.kaggle && mv ~/Downloads/kaggle.json ~/.kaggle/
                          && chmod 600 ~/.kaggle/kaggle.json
                          (or: export KAGGLE_USERNAME=<username> KAGGLE_KEY=<key>)
If you signed in another way (e.g. `kaggle auth login`), pass --no-credentials-check.
Looked in: {places}"""

INSTALL_HELP = """\
error: neither kagglehub nor the kaggle command-line tool is installed.
Install one of them, e.g.:
  pip install kagglehub          (or, from the repository: pip install -e .[kaggle])
  pip install kaggle             (the command-line tool)"""

NETWORK_HELP = """\
error: cannot reach Kaggle ({detail}).
Check the internet connection (and any proxy settings: HTTPS_PROXY), then run this again.
Without network access, download the dataset on another machine from
  https://www.kaggle.com/datasets/{dataset}
and copy the folder that holds train/ and val/ here."""


class DownloadError(Exception):
    """A download that could not be done; the message says why and what to do."""


# --------------------------------------------------------------------------- checks


def credential_places() -> list[Path]:
    """Folders where Kaggle's tools look for a token file, in their order."""
    places = []
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        places.append(Path(os.environ["KAGGLE_CONFIG_DIR"]).expanduser())
    places.append(Path.home() / ".kaggle")
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    places.append(Path(config_home).expanduser() / "kaggle")
    return places


def find_credentials() -> str | None:
    """Where a Kaggle token comes from (an env var or a file), or None if there is none."""
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "environment (KAGGLE_USERNAME, KAGGLE_KEY)"
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "environment (KAGGLE_API_TOKEN)"
    for folder in credential_places():
        # kaggle.json: the legacy username/key pair; access_token: the newer single token.
        for name in ("kaggle.json", "access_token"):
            if (folder / name).is_file():
                return str(folder / name)
    return None


def choose_method(method: str) -> str:
    """'kagglehub' or 'cli' for ``method`` (auto prefers kagglehub); DownloadError if not installed."""
    has_hub = importlib.util.find_spec("kagglehub") is not None
    has_cli = shutil.which("kaggle") is not None
    if method == "kagglehub" and not has_hub:
        raise DownloadError(
            "error: kagglehub is not installed: pip install kagglehub (or pip install -e .[kaggle])"
        )
    if method == "cli" and not has_cli:
        raise DownloadError("error: the kaggle command-line tool is not on PATH: pip install kaggle")
    if method == "auto":
        if has_hub:
            return "kagglehub"
        if has_cli:
            return "cli"
        raise DownloadError(INSTALL_HELP)
    return method


def is_network_error(error: BaseException) -> bool:
    """Whether an exception (or one it came from) means the network or DNS is unreachable."""
    import socket

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror, socket.timeout)):
            return True
        names = {cls.__name__ for cls in type(error).__mro__}
        # requests / urllib3 classes, matched by name so neither has to be importable here.
        if names & {
            "ConnectionError",
            "ConnectTimeout",
            "ReadTimeout",
            "Timeout",
            "NewConnectionError",
            "MaxRetryError",
            "ProxyError",
            "SSLError",
            "URLError",
            "NameResolutionError",
        }:
            return True
        error = error.__cause__ or error.__context__
    return False


NETWORK_MARKERS = (
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Connection refused",
    "timed out",
    "ConnectionError",
    "nodename nor servname",
)


def _short(error: BaseException) -> str:
    """The first line of an exception, capped, for one-line messages."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:300]


# --------------------------------------------------------------------------- downloads


def download_with_kagglehub(dest: Path | None) -> Path:
    """Download with kagglehub into its cache, or under ``dest``; returns the dataset folder."""
    if dest is not None:
        # KAGGLEHUB_CACHE is read at download time by every kagglehub version, unlike output_dir.
        os.environ["KAGGLEHUB_CACHE"] = str(dest.resolve())
    import kagglehub

    try:
        return Path(kagglehub.dataset_download(DATASET))
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - any failure becomes a one-line message
        if is_network_error(error):
            raise DownloadError(NETWORK_HELP.format(detail=_short(error), dataset=DATASET)) from None
        text = _short(error)
        if "401" in text or "403" in text or "Unauthorized" in text or "Forbidden" in text:
            raise DownloadError(
                f"error: Kaggle refused the download ({text}).\n"
                "Check that the token is current (create a new one at https://www.kaggle.com/settings)."
            ) from None
        raise DownloadError(f"error: kagglehub download failed: {type(error).__name__}: {text}") from None


def download_with_cli(dest: Path) -> Path:
    """Download and unzip with ``kaggle datasets download``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    command = ["kaggle", "datasets", "download", "-d", DATASET, "-p", str(dest), "--unzip"]
    print("running:", " ".join(command), flush=True)
    try:
        # stdout (the progress bar) goes straight through; stderr is kept to explain failures.
        result = subprocess.run(command, stderr=subprocess.PIPE, text=True)
    except OSError as error:
        raise DownloadError(f"error: cannot run the kaggle tool ({error})") from None
    if result.returncode != 0:
        text = result.stderr.strip()
        last = text.splitlines()[-1] if text else f"exit code {result.returncode}"
        if any(marker in text for marker in NETWORK_MARKERS):
            raise DownloadError(NETWORK_HELP.format(detail=last[:300], dataset=DATASET))
        if "401" in text or "403" in text or "Unauthorized" in text or "Forbidden" in text:
            raise DownloadError(
                f"error: Kaggle refused the download ({last[:300]}).\n"
                "Check that the token is current (create a new one at https://www.kaggle.com/settings)."
            )
        raise DownloadError(f"error: kaggle datasets download failed: {last[:300]}")
    return dest


def find_data_root(folder: Path, max_depth: int = 3) -> Path | None:
    """The folder under ``folder`` (itself included) that holds train/, preferring one with val/ too."""
    level = [folder]
    for _ in range(max_depth + 1):
        with_train = [p for p in level if (p / "train").is_dir()]
        for candidate in with_train:
            if (candidate / "val").is_dir():
                return candidate
        if with_train:
            return with_train[0]
        level = sorted(child for p in level for child in p.iterdir() if child.is_dir())
    return None


def existing_download(dest: Path) -> Path | None:
    """The data folder of an earlier download into ``dest`` (CLI or kagglehub layout), if any."""
    versions = dest / "datasets" / DATASET / "versions"  # kagglehub's cache layout
    candidates = [dest]
    if versions.is_dir():
        numbered = [p for p in versions.iterdir() if p.is_dir() and p.name.isdigit()]
        candidates = sorted(numbered, key=lambda p: int(p.name), reverse=True) + candidates
    for candidate in candidates:
        root = find_data_root(candidate, max_depth=2)
        if root is not None and (root / "val").is_dir():
            return root
    return None


# --------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="download_kaggle.py",
        description=(
            f"Download the Kaggle dataset {DATASET} (needs a Kaggle API token) with kagglehub "
            "(pip install kagglehub, or pip install -e .[kaggle]) or else the kaggle command-line tool."
        ),
        epilog="Then train with: python -m sketch2color.train --data <the folder this prints>",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="where to put the data (default: kagglehub's cache, ~/.cache/kagglehub; "
        f"for the CLI ./{DEFAULT_CLI_DEST})",
    )
    parser.add_argument(
        "--method",
        choices=("auto", "kagglehub", "cli"),
        default="auto",
        help="download tool: kagglehub, the kaggle CLI, or auto (kagglehub if installed, else the CLI)",
    )
    parser.add_argument(
        "--no-credentials-check",
        action="store_true",
        help="download even if no token is found in the usual places (e.g. after `kaggle auth login`, "
        "or to try kagglehub without an account)",
    )
    parser.add_argument(
        "--force", action="store_true", help="download even if DEST already holds the dataset"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = parse_args(argv)
    dest = args.dest.expanduser() if args.dest is not None else None
    if dest is not None and not args.force and dest.is_dir():
        existing = existing_download(dest)
        if existing is not None:
            print(f"{dest} already holds the dataset (pass --force to download again).")
            print(f"train with: python -m sketch2color.train --data {existing}")
            return 0
    try:
        method = choose_method(args.method)
    except DownloadError as error:
        print(error, file=sys.stderr)
        if find_credentials() is None:
            print(
                "(You will also need a Kaggle API token: run this again after installing to see how.)",
                file=sys.stderr,
            )
        return 2
    source = find_credentials()
    if source is None and not args.no_credentials_check:
        places = ", ".join(f"{p}/{{kaggle.json,access_token}}" for p in credential_places())
        print(
            CREDENTIALS_HELP.format(places=places + "; env KAGGLE_API_TOKEN, KAGGLE_USERNAME + KAGGLE_KEY"),
            file=sys.stderr,
        )
        return 2
    print(f"downloading {DATASET} with {method} (credentials: {source or 'not checked'})", flush=True)
    try:
        if method == "kagglehub":
            folder = download_with_kagglehub(dest)
        else:
            folder = download_with_cli(dest or DEFAULT_CLI_DEST)
    except DownloadError as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    root = find_data_root(folder)
    if root is None:
        print(f"error: downloaded to {folder}, but found no train/ folder in it", file=sys.stderr)
        return 2
    print(f"dataset ready in {root}")
    print(f"train with: python -m sketch2color.train --data {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
