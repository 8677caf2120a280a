"""--mixed-precision on a CPU that emulates bfloat16 is warned about (it runs ~3.8x slower there)."""

from __future__ import annotations

import pytest

from sketch2color.models.blocks import cpu_has_native_bfloat16, slow_bfloat16_warning

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu avx2\n"
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
ARM_BF16 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"
ARM_OLD = "processor\t: 0\nFeatures\t: fp asimd evtstrm\n"


@pytest.mark.parametrize(
    "cpuinfo, native",
    [(AVX2_ONLY, False), (SAPPHIRE_RAPIDS, True), (ARM_BF16, True), (ARM_OLD, False)],
    ids=["avx2", "avx512-bf16+amx", "arm-bf16", "arm-without"],
)
def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path, cpuinfo, native):
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    assert cpu_has_native_bfloat16(path) is native


def test_an_unreadable_cpuinfo_means_unknown_and_no_warning(tmp_path):
    assert cpu_has_native_bfloat16(tmp_path / "missing") is None
    assert slow_bfloat16_warning(True, 0, None) is None


def test_only_mixed_precision_on_an_emulating_cpu_without_gpu_is_warned():
    warning = slow_bfloat16_warning(True, 0, False)
    assert warning and "3.8x slower" in warning and "--mixed-precision" in warning
    assert slow_bfloat16_warning(False, 0, False) is None  # float32 training
    assert slow_bfloat16_warning(True, 1, False) is None  # a GPU computes it
    assert slow_bfloat16_warning(True, 0, True) is None  # AMX / AVX-512 BF16


def test_this_machines_answer_is_a_definite_one_on_linux():
    assert cpu_has_native_bfloat16() in (True, False)
