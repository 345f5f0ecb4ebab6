"""fastbridge's benchmark suite: seeded data generators, rule sets, peers and
the runner behind ``fastbridge bench`` (see ``benches/README.md``).

Not part of the installed package: it lives in the source tree and needs the
``bench`` extra (``pip install -e '.[bench]'``) for its optional pieces.
"""
