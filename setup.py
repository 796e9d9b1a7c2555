"""The optional C extension; everything else is in pyproject.toml.

Where no C compiler is found the build goes on without it and aiokoa runs in pure Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("aiokoa._speedups", ["src/aiokoa/_speedups.c"], optional=True)])
