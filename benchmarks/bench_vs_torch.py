"""Images/s of sketch2color's ``fit`` against a plain tf.function loop and a PyTorch pix2pix step.

    python benchmarks/bench_vs_torch.py [--rows 256x1,256x4,128x4] [--steps 6] [--repeats 3] [--quick]

The PyTorch side is a small implementation of the junyanz/pytorch-CycleGAN-and-pix2pix step,
written from the pix2pix paper (Isola et al. 2017): the same U-Net and 70x70 PatchGAN layer for
layer as sketch2color's (parameter counts are printed side by side), Adam(2e-4, 0.5, 0.999),
BCE-with-logits + 100 L1, D loss halved. As in that code, D is updated first on a detached fake
and G then goes through D once more (three D passes a step; the TF steps share one forward
pass, two D passes). The plain loop runs twice: as the TensorFlow pix2pix tutorial writes it
(Keras' Adam: the issue's baseline) and with sketch2color's FusedAdam (so fit / that loop is
fit's own overhead). All train on the same random in-memory batch, in one process,
rounds interleaved (the order rotates each round) so that load from other work on a shared
machine hits all of them; each row prints the median and the min-max of ``--repeats`` rounds
after one warm-up round. PyTorch runs on 2 threads; TensorFlow keeps its default pools (all
cores), as ``bench_train.py`` does. Needs the ``bench`` extra (``pip install -e ".[bench]"``);
without torch it prints why it skipped and exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from bench_train import in_memory_data, random_batch, time_fit, time_loop, tutorial_step  # noqa: E402

from sketch2color.config import RunConfig  # noqa: E402
from sketch2color.training import build_gan  # noqa: E402

TORCH_THREADS = 2
BUSY_LOAD = 1.0  # a 1-min load average from other work at start that makes the torch column unfair
DEFAULT_ROWS = "256x1,256x4,128x4"
QUICK_ROW, QUICK_STEPS, QUICK_REPEATS = "64x2", 2, 1
# fit's time outside its steps is ~0.01 s; the stall idled 1-2 s after the last step here.
STALL_SECONDS = 0.5


# --------------------------------------------------------------------------- PyTorch pix2pix


def torch_unet(image_size: int, base: int = 64, dropout_blocks: int = 3):
    """pix2pix's U-Net in PyTorch with log2(size) levels, laid out as sketch2color's unet_generator."""
    from torch import nn

    depth = min(image_size.bit_length() - 1, 8)
    down = [base * min(2**level, 8) for level in range(depth)]
    up = down[-2::-1]

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.ModuleList()
            channels = 3
            for level, filters in enumerate(down):
                norm = 0 < level < depth - 1  # neither the first level nor the 1x1 bottleneck
                layers = [nn.Conv2d(channels, filters, 4, 2, 1, bias=not norm)]
                layers += [_batch_norm(filters)] if norm else []
                layers += [nn.ReLU() if level == depth - 1 else nn.LeakyReLU(0.2)]
                self.encoder.append(nn.Sequential(*layers))
                channels = filters
            self.decoder = nn.ModuleList()
            for level, filters in enumerate(up):
                layers = [nn.ConvTranspose2d(channels, filters, 4, 2, 1, bias=False), _batch_norm(filters)]
                layers += [nn.Dropout(0.5)] if level < dropout_blocks else []
                self.decoder.append(nn.Sequential(*layers, nn.ReLU()))
                channels = 2 * filters  # concatenated with the mirror encoder level
            self.output = nn.Sequential(nn.ConvTranspose2d(channels, 3, 4, 2, 1), nn.Tanh())

        def forward(self, x):
            import torch

            skips = []
            for block in self.encoder:
                x = block(x)
                skips.append(x)
            for block, skip in zip(self.decoder, reversed(skips[:-1])):
                x = torch.cat([block(x), skip], 1)
            return self.output(x)

    return _paper_init(UNet())


def torch_patchgan(base: int = 64):
    """The conditional 70x70 PatchGAN (input: sketch and image concatenated), as sketch2color's."""
    from torch import nn

    def block(cin, cout, stride, norm):
        layers = [nn.Conv2d(cin, cout, 4, stride, 1, bias=not norm)]
        return [*layers, *([_batch_norm(cout)] if norm else []), nn.LeakyReLU(0.2)]

    layers = [
        *block(6, base, 2, False),
        *block(base, 2 * base, 2, True),
        *block(2 * base, 4 * base, 2, True),
        *block(4 * base, 8 * base, 1, True),  # 31x31 at 256 px
        nn.Conv2d(8 * base, 1, 4, 1, 1),  # 30x30 logits
    ]
    return _paper_init(nn.Sequential(*layers))


def _batch_norm(channels: int):
    """Batch norm with Keras' epsilon, so both sides normalize alike."""
    from torch import nn

    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.1)


def _paper_init(model):
    """pix2pix's init: conv weights N(0, 0.02), batch norm scales N(1, 0.02), biases 0."""
    from torch import nn

    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    return model


def torch_step(generator, discriminator, l1_weight: float = 100.0):
    """The junyanz pix2pix ``optimize_parameters``: update D on (real, detached fake), then G."""
    import torch

    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce, l1 = torch.nn.BCEWithLogitsLoss(), torch.nn.L1Loss()

    def step(sketch, target):
        fake = generator(sketch)
        discriminator.requires_grad_(True)
        d_opt.zero_grad()
        fake_logits = discriminator(torch.cat([sketch, fake.detach()], 1))
        real_logits = discriminator(torch.cat([sketch, target], 1))
        d_loss = 0.5 * (
            bce(fake_logits, torch.zeros_like(fake_logits)) + bce(real_logits, torch.ones_like(real_logits))
        )
        d_loss.backward()
        d_opt.step()
        discriminator.requires_grad_(False)  # G's backward needs no D gradients
        g_opt.zero_grad()
        fake_logits = discriminator(torch.cat([sketch, fake], 1))
        g_loss = bce(fake_logits, torch.ones_like(fake_logits)) + l1_weight * l1(fake, target)
        g_loss.backward()
        g_opt.step()
        return g_loss

    return step


# --------------------------------------------------------------------------- the contenders


def torch_contender(image_size: int, batch_size: int):
    """A ``run(steps) -> images/s`` for the PyTorch step, and its (generator, discriminator) sizes."""
    import torch

    generator, discriminator = torch_unet(image_size), torch_patchgan()
    step = torch_step(generator, discriminator)
    rng = torch.Generator().manual_seed(1)
    shape = (batch_size, 3, image_size, image_size)  # NCHW, PyTorch's default layout
    sketch, target = (torch.rand(shape, generator=rng) * 2 - 1 for _ in range(2))

    def run(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            step(sketch, target)  # eager on the CPU: returns when the step is done
        return steps * batch_size / (time.perf_counter() - start)

    return run, (torch_parameters(generator), torch_parameters(discriminator))


def torch_parameters(model) -> int:
    """Trainable parameters of a torch module."""
    return sum(p.numel() for p in model.parameters())


class StepClock(keras.callbacks.Callback):
    """Keeps when ``fit`` began and when its last step ended (a step returns when it is done)."""

    def on_train_begin(self, logs=None):
        self.begin = self.last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.last = time.perf_counter()


def tf_contenders(image_size: int, batch_size: int, steps: int):
    """``run(steps) -> images/s`` for sketch2color's ``fit`` and the plain loop, their sizes, and the
    list of seconds each ``fit`` spent outside its steps."""
    config = RunConfig()
    config.train.ema_decay = 0.0  # the same step as the plain loop: no weight average
    config.data.image_size = image_size
    fit_gan, loop_gan, stock_gan = (build_gan(config, steps) for _ in range(3))
    batch = random_batch(image_size, batch_size)
    data = in_memory_data(batch)  # pipeline_options: no end-of-fit stall
    step = tutorial_step(
        loop_gan.generator, loop_gan.discriminator, loop_gan.g_optimizer, loop_gan.d_optimizer
    )
    # The loop as the TensorFlow pix2pix tutorial writes it: Keras' own Adam, not FusedAdam.
    stock_step = tutorial_step(
        stock_gan.generator,
        stock_gan.discriminator,
        keras.optimizers.Adam(2e-4, beta_1=0.5),
        keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    clock, outside = StepClock(), []

    def run_fit(n: int) -> float:
        rate = time_fit(fit_gan, data, n, batch_size, callbacks=[clock])
        outside.append(n * batch_size / rate - (clock.last - clock.begin))
        return rate

    sizes = (keras_parameters(fit_gan.generator), keras_parameters(fit_gan.discriminator))
    contenders = {
        "fit": run_fit,
        "loop": lambda n: time_loop(step, data, n, batch_size),
        "stock": lambda n: time_loop(stock_step, data, n, batch_size),
    }
    return contenders, sizes, outside


def keras_parameters(model) -> int:
    """Trainable parameters of a Keras model (batch norm's moving statistics are not)."""
    return sum(int(w.numpy().size) for w in model.trainable_weights)


def measure(image_size: int, batch_size: int, steps: int, repeats: int) -> dict:
    """Images/s of fit, loop and torch over ``repeats`` interleaved rounds, after a warm-up round."""
    runs, tf_sizes, outside = tf_contenders(image_size, batch_size, steps)
    runs["torch"], torch_sizes = torch_contender(image_size, batch_size)
    names = list(runs)
    for name in names:  # traces the TF functions, warms oneDNN's and torch's kernel caches
        runs[name](min(steps, 2))
    outside.clear()
    rates = {name: [] for name in names}
    for round_ in range(repeats):
        first = round_ % len(names)
        for name in names[first:] + names[:first]:  # nobody always goes first
            rates[name].append(runs[name](steps))
    return {"rates": rates, "sizes": {"tf": tf_sizes, "torch": torch_sizes}, "outside": outside}


# --------------------------------------------------------------------------- report


def parse_rows(text: str) -> list[tuple[int, int]]:
    """``"256x1,128x4"`` -> [(256, 1), (128, 4)] (image size x batch size)."""
    rows = []
    for item in text.split(","):
        size, _, batch = item.strip().partition("x")
        if not (size.isdigit() and batch.isdigit()):
            raise argparse.ArgumentTypeError(f"rows are SIZExBATCH, e.g. 256x1; got {item!r}")
        rows.append((int(size), int(batch)))
    return rows


def spread(values: list[float]) -> str:
    """Median and min-max of a list of rates."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def print_report(results: dict, steps: int, repeats: int) -> None:
    """The issue's table (median and min-max), the ratios, the sizes and the stall check."""
    print(f"\nimages/s, median (min-max) of {repeats} interleaved rounds x {steps} steps after a warm-up")
    print(
        "| images/s | sketch2color `fit` | plain tf.function loop, Keras Adam | the same loop, FusedAdam "
        "| PyTorch, junyanz-style step |"
    )
    print("|---|---|---|---|---|")
    names = ("fit", "stock", "loop", "torch")
    for (size, batch), result in results.items():
        cells = " | ".join(spread(result["rates"][name]) for name in names)
        print(f"| {size} px, batch {batch} | {cells} |")
    print(f"\n{'row':>14s} {'fit/torch':>10s} {'fit/loop':>9s} {'fit/loop_fused':>15s}   (of the medians)")
    for (size, batch), result in results.items():
        fit, stock, loop, torch_ = (statistics.median(result["rates"][n]) for n in names)
        print(f"{f'{size} px b{batch}':>14s} {fit / torch_:10.2f} {fit / stock:9.2f} {fit / loop:15.2f}")
    print("\ntrainable parameters (sketch2color / PyTorch):")
    seen = set()
    for (size, _), result in results.items():
        if size in seen:
            continue
        seen.add(size)
        (tf_g, tf_d), (t_g, t_d) = result["sizes"]["tf"], result["sizes"]["torch"]
        same = "equal" if (tf_g, tf_d) == (t_g, t_d) else "DIFFERENT"
        print(f"  {size} px: generator {tf_g:,} / {t_g:,}, discriminator {tf_d:,} / {t_d:,} ({same})")
    worst = max((max(r["outside"], default=0.0) for r in results.values()), default=0.0)
    verdict = "no end-of-fit stall" if worst < STALL_SECONDS else "STALL: a fit idled after its last step"
    print(f"fit's time outside its steps, worst round: {worst:.2f} s ({verdict}; tf.data autotune off)")
    print(
        "target (issue 14): fit/torch >= 1.0 at 128 px b4 and 256 px b1, fit/loop >= 1.1 (the tutorial's "
        "loop with Keras' Adam); fit/loop_fused ~1.0 is fit's own overhead"
    )


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; ``--quick`` is one small row with few steps unless they are given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=parse_rows, default=None, help=f"SIZExBATCH,... (default {DEFAULT_ROWS})"
    )
    parser.add_argument("--steps", type=int, default=None, help="steps per round (default 6)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per row (default 3)")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=TORCH_THREADS,
        help=f"torch.set_num_threads (default {TORCH_THREADS}, one per core here)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: row {QUICK_ROW}, {QUICK_STEPS} steps, {QUICK_REPEATS} round",
    )
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = parse_rows(QUICK_ROW if args.quick else DEFAULT_ROWS)
    if args.steps is None:
        args.steps = QUICK_STEPS if args.quick else 6
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else 3
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if importlib.util.find_spec("torch") is None:
        print('bench_vs_torch: skipped: PyTorch is not installed (pip install -e ".[bench]")')
        return 0
    import torch

    torch.set_num_threads(args.torch_threads)
    load_before = os.getloadavg()[0]
    results = {}
    for size, batch in args.rows:
        print(
            f"{size} px, batch {batch}: {1 + args.repeats} rounds x {args.steps} steps ...",
            file=sys.stderr,
            flush=True,
        )
        results[(size, batch)] = measure(size, batch, args.steps, args.repeats)
    print_report(results, args.steps, args.repeats)
    print(f"1-min load average before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    if load_before >= BUSY_LOAD:
        print(
            "warning: other work was running: PyTorch's OpenMP threads wait at every op for a "
            "descheduled thread (3-5x slower here under load), TensorFlow's pool much less; "
            "compare on a quiet machine"
        )
    print(
        f"TensorFlow {_version('tensorflow')}, Keras {_version('keras')}, PyTorch {torch.__version__} "
        f"(threads: {torch.get_num_threads()}), {os.cpu_count()} cores"
    )
    return 0


def _version(module: str) -> str:
    """A module's ``__version__``."""
    return __import__(module).__version__


if __name__ == "__main__":
    sys.exit(main())
