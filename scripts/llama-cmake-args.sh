#!/usr/bin/env bash
# CMake flags for building llama.cpp (inside llama-cpp-python) on this machine.
#
# llama.cpp's default, GGML_NATIVE, compiles for every feature the CPU reports,
# AMX included; virtual machines often report AMX without letting a process use
# it, and the engine then dies on its first matrix multiply with "illegal
# instruction" (seen here). So: no native build, and the x86 features the CPU
# reports enabled one by one, AMX left out.
set -euo pipefail
flags="-DGGML_NATIVE=OFF"
if [ "$(uname -m)" = "x86_64" ] && [ -r /proc/cpuinfo ]; then
  cpu=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  has() { [[ "$cpu" == *" $1 "* ]]; }
  has avx && flags+=" -DGGML_AVX=ON"
  has avx2 && flags+=" -DGGML_AVX2=ON"
  has fma && flags+=" -DGGML_FMA=ON"
  has f16c && flags+=" -DGGML_F16C=ON"
  has bmi2 && flags+=" -DGGML_BMI2=ON"
  has avx_vnni && flags+=" -DGGML_AVX_VNNI=ON"
  if has avx512f && has avx512bw && has avx512dq && has avx512vl; then
    flags+=" -DGGML_AVX512=ON"
    has avx512vbmi && flags+=" -DGGML_AVX512_VBMI=ON"
    has avx512_vnni && flags+=" -DGGML_AVX512_VNNI=ON"
    has avx512_bf16 && flags+=" -DGGML_AVX512_BF16=ON"
  fi
fi
echo "$flags -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
