"""``python -m boxjwt``: the same as the ``boxjwt`` command."""

from boxjwt._cli import console_main

if __name__ == "__main__":  # pragma: no cover
    console_main()
