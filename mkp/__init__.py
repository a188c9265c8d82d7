"""Build, validate and simulate the installation of the cmk_ilert extension package (MKP).

Modules:
- ``versions``: Checkmk release versions (``2.4.0p3``) and package versions (semver).
- ``checkmk_releases``: what each Checkmk release (2.0 … 2.5) brings: site Python, requests,
  the package parts it knows and where they are installed.
- ``manifest``: the model of the MKP manifest (the rules of Checkmk 2.0 … 2.5); standard library
  only, like the whole build.
- ``build``: the reproducible builder of the two artifacts (legacy and modern line).
- ``site_install``: a simulated ``mkp install``/``enable`` into a fake ``$OMD_ROOT``.

This package is build and test tooling; nothing here is shipped to a Checkmk site.

Note: the PyPI distribution ``mkp`` (python-mkp) has the same top-level name. With the repository
root first on ``sys.path`` (as for ``python mkp/build.py`` and the test suite) this package wins;
the tests load python-mkp under another name.
"""
