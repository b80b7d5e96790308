"""Build the compiled twins of the hot path (codec and text planner).

The extensions are required for a normal install: a missing compiler is an error, not a
silent fallback.  Set ``SMSDK_NO_EXTENSIONS=1`` at *run time* to use the pure-Python twins
(the compiled modules are still built, so the differential tests can compare both).
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "smsdk._codec",
        ["src/smsdk/_codec.pyx"],
        depends=["src/smsdk/_records.pxi", "src/smsdk/_records_sizes.pxi"],
    ),
    Extension("smsdk._split", ["src/smsdk/_split.pyx"]),
    Extension("smsdk._msgid", ["src/smsdk/_msgid.pyx"]),
]
# While developing, `SMSDK_BUILD_ONLY=_codec python setup.py build_ext --inplace` rebuilds one.
_only = os.environ.get("SMSDK_BUILD_ONLY")
if _only:
    extensions = [e for e in extensions if e.name == f"smsdk.{_only}"]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
)
