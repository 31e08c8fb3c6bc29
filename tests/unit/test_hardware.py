"""What a benchmark result records about its CPU (gridsight.hardware)."""

from __future__ import annotations

from gridsight.hardware import cpu_features

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse2 avx fma avx2 bmi2
bogomips\t: 4890.82

processor\t: 1
vendor_id\t: AuthenticAMD
flags\t\t: fpu sse2 avx fma avx2 bmi2 avx512f avx512_vnni
bogomips\t: 1.0
"""


def test_features_are_the_first_processors_family_model_and_vector_flags():
    features = cpu_features(ZEN3)
    assert features == {"vendor_id": "AuthenticAMD", "cpu family": "25", "model": "1", "stepping": "1",
                        "vector_flags": ["avx2", "fma"], "bogomips": 4890.82}


def test_avx512_flags_are_named_and_a_machine_without_cpuinfo_records_nothing():
    zen4 = ZEN3.replace("fma avx2 bmi2\n", "fma avx2 bmi2 avx512f avx512_bf16 avx512_vnni\n", 1)
    assert cpu_features(zen4)["vector_flags"] == ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni"]
    assert cpu_features("") == {}
