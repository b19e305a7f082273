"""Builds the one C extension, sailfish._native, from sailfish/_native/*.c.

Warnings are errors under CI (CI=true) or SAILFISH_WERROR=1, so a new warning fails the
build there while a user's newer compiler never blocks an install.
"""
import os
import sys

from setuptools import Extension, setup

NATIVE = "sailfish/_native"
# -fno-wrapv undoes the -fwrapv CPython passes to extensions: it stops gcc vectorizing the env loops.
flags = ["-O3", "-std=c11", "-fno-wrapv", "-Wall", "-Wextra", "-D_GNU_SOURCE"]
if os.environ.get("CI") == "true" or os.environ.get("SAILFISH_WERROR") == "1":
    flags.append("-Werror")
if sys.platform == "win32":
    flags = ["/O2"]

native = Extension(
    "sailfish._native",
    sources=[f"{NATIVE}/{name}.c" for name in ("module", "vecenv", "registry", "advantage", "activations", "mlp", "categorical", "ppo_gradient", "actor")],
    depends=[
        os.path.join(root, f)
        for root, _, files in os.walk(NATIVE)
        for f in files
        if f.endswith(".h")
    ],
    extra_compile_args=flags,
    extra_link_args=[] if sys.platform == "win32" else ["-pthread"],
)

setup(ext_modules=[native])
